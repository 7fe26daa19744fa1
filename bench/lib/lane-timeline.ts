/**
 * Where a lane's time goes, from the engine's `kvp:slice` and `kvp:ack` events. A lane
 * has at most one slice in flight, so its time inside a window splits three ways:
 *
 * - **worker**: the slice running in a worker thread (the ack's `durationMs`);
 * - **transit**: the rest of the time the slice is in flight, from sent to its ack
 *   applied on the main thread: the task posted to the worker and waiting there, the ack
 *   waiting in its batch and then for a main thread busy with something else;
 * - **between**: from the ack applied to the lane's next slice sent (the lane waiting for
 *   messages, or for the next flush).
 *
 * Pure: the caller stamps every event with its time. Only slices sent inside the window
 * are counted, and only gaps that begin inside it.
 */

export interface LaneTimes {
  /** Lanes that sent a slice inside the window. */
  lanes: number
  /** Slices sent and acked inside the window. */
  slices: number
  /** Messages those slices handled. */
  messages: number
  workerMs: number
  transitMs: number
  betweenMs: number
  /** Slices sent in the window whose ack came after it: left out of every sum. */
  unfinished: number
  windowMs: number
}

interface LaneClock {
  /** When its slice in flight was sent, or NaN when none is. */
  sentAt: number
  /** When its last ack was applied, or NaN before the first one. */
  ackedAt: number
}

export class LaneTimeline {
  readonly #lanes = new Map<number, LaneClock>()
  readonly #seen = new Set<number>()
  #from = Number.NaN
  #to = Number.NaN
  #slices = 0
  #messages = 0
  #workerMs = 0
  #transitMs = 0
  #betweenMs = 0

  /** The window opens: events from `at` on are counted. */
  open(at: number): void {
    this.#from = at
  }

  /** The window closes: nothing after `at` is counted. */
  close(at: number): void {
    if (!Number.isNaN(this.#from) && Number.isNaN(this.#to)) this.#to = at
  }

  get counting(): boolean {
    return !Number.isNaN(this.#from) && Number.isNaN(this.#to)
  }

  /** A slice of `lane` (any number naming the lane uniquely) was sent at `at`. */
  sent(lane: number, at: number): void {
    let clock = this.#lanes.get(lane)
    if (clock === undefined) {
      clock = { sentAt: Number.NaN, ackedAt: Number.NaN }
      this.#lanes.set(lane, clock)
    }
    if (this.counting) {
      this.#seen.add(lane)
      if (!Number.isNaN(clock.ackedAt) && clock.ackedAt >= this.#from) this.#betweenMs += at - clock.ackedAt
      clock.sentAt = at
    } else {
      clock.sentAt = Number.NaN
    }
  }

  /** The lane's slice in flight was acked at `at`, having handled `handled` messages in `workerMs`. */
  acked(lane: number, at: number, handled: number, workerMs: number): void {
    const clock = this.#lanes.get(lane)
    if (clock === undefined) return
    const sentAt = clock.sentAt
    clock.sentAt = Number.NaN
    clock.ackedAt = this.counting ? at : Number.NaN
    if (Number.isNaN(sentAt) || !this.counting) return
    const inFlight = at - sentAt
    const worker = Math.min(workerMs, inFlight)
    this.#slices++
    this.#messages += handled
    this.#workerMs += worker
    this.#transitMs += inFlight - worker
  }

  result(): LaneTimes {
    let unfinished = 0
    for (const clock of this.#lanes.values()) if (!Number.isNaN(clock.sentAt)) unfinished++
    const end = Number.isNaN(this.#to) ? this.#from : this.#to
    return {
      lanes: this.#seen.size,
      slices: this.#slices,
      messages: this.#messages,
      workerMs: this.#workerMs,
      transitMs: this.#transitMs,
      betweenMs: this.#betweenMs,
      unfinished,
      windowMs: Number.isNaN(this.#from) ? 0 : end - this.#from,
    }
  }
}

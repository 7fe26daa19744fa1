/**
 * How many messages the next poll asks librdkafka for. A poll's messages are turned into
 * JS objects and dispatched in one go on the main thread (~4 µs a message), and acks wait
 * behind it, so the size trades the main thread's cost per message against how long it is
 * away from the acks:
 *
 * - **lanes hungry** (a fast handler: each poll's messages go straight to idle lanes, and
 *   none is left waiting when the next poll is asked for) — a large poll, so each lane's
 *   slice carries more than a message or two;
 * - **lanes backed up, main thread with room** (a slow handler on few partitions: the lanes
 *   set the pace) — a small poll: slices grow in the lanes whatever the poll size, and the
 *   main thread comes back to the acks sooner, so a lane waits less between slices;
 * - **lanes backed up, main thread saturated** (a slow handler over many lanes: the main
 *   thread sets the pace) — a large poll again: every microsecond of the main thread's
 *   counts, and larger polls leave more in each lane for its next slice.
 *
 * Lanes count as backed up once a small poll's worth waits, and hungry again only once
 * nothing does: while they are backed up the wait dips low each time a paused partition
 * resumes. Measured on Apache Kafka, 256 lanes a partition, 2 threads, io 1 ms: one
 * partition 165–167k msg/s with 4000 a poll against 175–177k with 1000 (main thread 67% →
 * 86% busy); eight partitions 214–216k with 4000 against 189–197k with 1000 (98% busy
 * either way). noop at 256 lanes: 245–250k with 4000 against 206–212k with 1000.
 */
export interface PollSizes {
  /** While lanes are hungry, or the main thread is saturated. */
  large: number
  /** While lanes are backed up and the main thread has room. */
  small: number
}

/**
 * The main thread counts as saturated once its event-loop utilisation reaches SATURATED,
 * and as having room again once it falls below ROOM: with small polls a main thread that
 * the lanes pace runs 80–87% busy, one that sets the pace 98%.
 */
export const SATURATED = 0.95
export const ROOM = 0.9

export class PollSize {
  readonly #sizes: PollSizes
  readonly #mainThreadBusy: () => number
  #backedUp = false
  #saturated = false

  /** `mainThreadBusy`: the main thread's recent event-loop utilisation (0–1). */
  constructor(sizes: PollSizes, mainThreadBusy: () => number) {
    this.#sizes = sizes
    this.#mainThreadBusy = mainThreadBusy
  }

  /** `waiting`: messages fetched and not yet sent to a worker (queued in lanes, or held). */
  next(waiting: number): number {
    if (waiting >= this.#sizes.small) this.#backedUp = true
    else if (waiting === 0) this.#backedUp = false
    const busy = this.#mainThreadBusy()
    if (busy >= SATURATED) this.#saturated = true
    else if (busy < ROOM) this.#saturated = false
    return this.#backedUp && !this.#saturated ? this.#sizes.small : this.#sizes.large
  }
}

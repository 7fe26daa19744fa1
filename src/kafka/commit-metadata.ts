import { encodeOffsetMap } from '../offsets/offset-map.js'

/** What the offset map is made from: one partition's done offsets above its watermark. */
export interface DoneAbove {
  readonly doneAboveCount: number
  doneAbove(): number[]
}

interface Cached {
  watermark: number
  doneCount: number
  text: string | undefined
}

/**
 * The metadata committed with a partition's watermark: its offset map, the offsets done above
 * the watermark (../offsets/offset-map.ts), within `maxBytes` (the broker's
 * `offset.metadata.max.bytes`; 0 turns maps off). Encoded once per change: with the
 * watermark where it was, the done set only grows, so the same count means the same set.
 */
export class CommitMetadata {
  readonly #maxBytes: number
  readonly #cache = new WeakMap<DoneAbove, Cached>()

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get enabled(): boolean {
    return this.#maxBytes > 0
  }

  /** The map to commit with `watermark`, or undefined (nothing done above it, or maps off). */
  for(state: DoneAbove, watermark: number): string | undefined {
    if (this.#maxBytes === 0) return undefined
    const doneCount = state.doneAboveCount
    if (doneCount === 0) return undefined
    const cached = this.#cache.get(state)
    if (cached !== undefined && cached.watermark === watermark && cached.doneCount === doneCount) return cached.text
    // The watermark (the committed offset) is the lowest offset not done; the map covers what is above it.
    const text = encodeOffsetMap(watermark, state.doneAbove(), this.#maxBytes)?.text
    this.#cache.set(state, { watermark, doneCount, text })
    return text
  }
}

import type { KnownDone } from '../offsets/known-done.js'
import { knownDoneKey } from './offset-map-reader.js'
import { PartitionState } from '../dispatch/partition-state.js'
import type { RoutePartitioning } from '../partitioning/route-partitioning.js'

/** A topic and partition, as the group assigns them. */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/**
 * The partitions this member owns: one PartitionState per assigned partition of a topic it
 * routes, changed only through what happened to them (assigned, revoked, restarted). Every
 * state it drops or replaces is fenced first (`PartitionState.revoke`) and then handed to
 * `released`, so whatever was kept for it elsewhere (a pause) goes with it.
 */
export class Assignments {
  readonly #routes: ReadonlyMap<string, RoutePartitioning>
  readonly #released: (state: PartitionState) => void
  readonly #states = new Map<string, Array<PartitionState | undefined>>()

  constructor(routes: ReadonlyMap<string, RoutePartitioning>, released: (state: PartitionState) => void) {
    this.#routes = routes
    this.#released = released
  }

  /** The state of a partition this member owns, or undefined. */
  lookup(topic: string, partition: number): PartitionState | undefined {
    return this.#states.get(topic)?.[partition]
  }

  /** Every partition this member owns. */
  all(): PartitionState[] {
    const all: PartitionState[] = []
    for (const list of this.#states.values()) for (const state of list) if (state) all.push(state)
    return all
  }

  /** The states of those of `partitions` this member owns, in their order. */
  owned(partitions: Iterable<TopicPartition>): PartitionState[] {
    const states: PartitionState[] = []
    for (const { topic, partition } of partitions) {
      const state = this.lookup(topic, partition)
      if (state) states.push(state)
    }
    return states
  }

  /**
   * Payload bytes fetched and not yet done, over the partitions this member owns. Derived
   * from the partitions each time (a handful of them), so what a revoked partition still
   * held leaves the total with it.
   */
  get bytes(): number {
    let bytes = 0
    for (const list of this.#states.values()) for (const state of list) if (state) bytes += state.bytes
    return bytes
  }

  /** Messages fetched and not yet done, over the partitions this member owns. */
  get inFlight(): number {
    let messages = 0
    for (const list of this.#states.values()) for (const state of list) if (state) messages += state.inFlight
    return messages
  }

  /**
   * The group gave this member `partitions` in `generation`: each one of a routed topic gets
   * a fresh state, replacing one left from an earlier assignment. Returns the new states;
   * partitions of other topics are skipped.
   */
  assigned(partitions: Iterable<TopicPartition>, generation: number, knownDone: ReadonlyMap<string, KnownDone> = new Map()): PartitionState[] {
    const added: PartitionState[] = []
    for (const { topic, partition } of partitions) {
      const routing = this.#routes.get(topic)
      if (!routing) continue
      let list = this.#states.get(topic)
      if (!list) {
        list = []
        this.#states.set(topic, list)
      }
      const previous = list[partition]
      if (previous) this.#release(previous)
      const state = new PartitionState(topic, partition, routing.route, generation, routing.extract, routing.newDistributor(), knownDone.get(knownDoneKey(topic, partition)))
      list[partition] = state
      added.push(state)
    }
    return added
  }

  /** These partitions left this member: each is released and, if still current, dropped. */
  revoked(states: Iterable<PartitionState>): void {
    for (const state of states) {
      this.#release(state)
      const list = this.#states.get(state.topic)
      if (list && list[state.partition] === state) list[state.partition] = undefined
    }
  }

  /**
   * Exactly-once, after an abort: `state` is released and, if still current, replaced by a
   * fresh state of the same generation, to be fetched again. Returns the new state, or
   * undefined when `state` was no longer current (nothing to fetch again).
   */
  restarted(state: PartitionState): PartitionState | undefined {
    this.#release(state)
    const list = this.#states.get(state.topic)
    const routing = this.#routes.get(state.topic)
    if (!list || list[state.partition] !== state || !routing) return undefined
    const fresh = new PartitionState(state.topic, state.partition, routing.route, state.generation, routing.extract, routing.newDistributor())
    list[state.partition] = fresh
    return fresh
  }

  #release(state: PartitionState): void {
    state.revoke()
    this.#released(state)
  }
}

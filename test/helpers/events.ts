import type { TestContext } from 'node:test'
import type { EventChannel } from '../../src/diagnostics.js'

/** Every event published on `channel` from now until the test ends, in order. */
export function collectEvents<T>(t: TestContext, channel: EventChannel<T>): T[] {
  const seen: T[] = []
  t.after(channel.subscribe((event) => seen.push(event)))
  return seen
}

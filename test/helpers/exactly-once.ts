import { strict as assert } from 'node:assert'
import type Kafka from 'node-rdkafka'
import { readPartition } from './read-topic.js'

/** What a read_committed reader sees of an output topic: each record's source (`<partition>:<offset>`) and key, per output partition in log order. */
export async function committedOutputs(bootstrapServers: string, topic: string, partitions = 4): Promise<Kafka.Message[][]> {
  const out: Kafka.Message[][] = []
  for (let p = 0; p < partitions; p++) out.push(await readPartition(bootstrapServers, topic, p, { isolation: 'read_committed', timeoutMs: 30_000 }))
  return out
}

/**
 * The exactly-once invariants over the committed outputs of inputs `ends` (end offset per
 * input partition), whose records carry the value `<partition>:<offset>` and the input's key:
 * - every input's output is there exactly once (none lost, none duplicated);
 * - per key, outputs appear in the order of their inputs' offsets.
 * `except` lists inputs that legitimately have no output (dead-lettered).
 */
export function assertExactlyOnce(outputs: Kafka.Message[][], ends: readonly number[], except: ReadonlySet<string> = new Set()): void {
  const counts = new Map<string, number>()
  const orderViolations: string[] = []
  for (const partition of outputs) {
    const lastByKey = new Map<string, number>()
    for (const record of partition) {
      const source = record.value?.toString() ?? ''
      counts.set(source, (counts.get(source) ?? 0) + 1)
      const key = `${record.key?.toString()}@${source.split(':')[0]}`
      const offset = Number(source.split(':')[1])
      const last = lastByKey.get(key)
      if (last !== undefined && offset <= last && orderViolations.length < 10) orderViolations.push(`${key}: ${offset} after ${last}`)
      lastByKey.set(key, offset)
    }
  }
  const missing: string[] = []
  const duplicated: string[] = []
  for (let p = 0; p < ends.length; p++) {
    for (let offset = 0; offset < (ends[p] as number); offset++) {
      const source = `${p}:${offset}`
      const n = counts.get(source) ?? 0
      if (except.has(source)) {
        if (n !== 0) duplicated.push(`${source} (dead-lettered, yet ${n} outputs)`)
      } else if (n === 0) missing.push(source)
      else if (n > 1) duplicated.push(`${source} ×${n}`)
    }
  }
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} inputs have no committed output`)
  assert.deepEqual(duplicated.slice(0, 20), [], `${duplicated.length} inputs have more than one committed output`)
  assert.deepEqual(orderViolations, [], 'per key, outputs follow input order')
}

import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import Kafka from 'node-rdkafka'
import { uniqueName, waitFor } from './kafka.js'
import type { KvpProcess } from './process.js'
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

/** Per partition of `topic`: the last stable offset (read_committed reads up to it) and the end offset (the log's end). */
export async function stableAndEndOffsets(bootstrapServers: string, topic: string, partitions = 4): Promise<Array<{ stable: number; end: number }>> {
  const watch = await OffsetWatch.open(bootstrapServers, topic, partitions)
  try {
    return await watch.stableAndEnd()
  } finally {
    await watch.close()
  }
}

/** The partitions of `topic` where an open transaction holds records back from read_committed readers (last stable offset below the end). */
export async function openTransactionPartitions(bootstrapServers: string, topic: string, partitions = 4): Promise<number[]> {
  const watch = await OffsetWatch.open(bootstrapServers, topic, partitions)
  try {
    return await watch.openTransactionPartitions()
  } finally {
    await watch.close()
  }
}

/**
 * A topic's last stable and end offsets, read by two clients that stay connected (one per
 * isolation level: it decides what ListOffsets answers for the end), so that a wait can
 * poll every few milliseconds and catch a transaction while it is open. A client connected
 * for each read takes long enough, on a loaded machine, to miss every open window.
 */
export class OffsetWatch {
  readonly #committed: Kafka.KafkaConsumer
  readonly #uncommitted: Kafka.KafkaConsumer
  readonly #topic: string
  readonly #partitions: number

  private constructor(committed: Kafka.KafkaConsumer, uncommitted: Kafka.KafkaConsumer, topic: string, partitions: number) {
    this.#committed = committed
    this.#uncommitted = uncommitted
    this.#topic = topic
    this.#partitions = partitions
  }

  static async open(bootstrapServers: string, topic: string, partitions = 4): Promise<OffsetWatch> {
    const client = (isolation: 'read_committed' | 'read_uncommitted'): Kafka.KafkaConsumer =>
      new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': uniqueName('offsets'), 'isolation.level': isolation, log_level: 3 }, {})
    const committed = client('read_committed')
    const uncommitted = client('read_uncommitted')
    await Promise.all([connect(committed), connect(uncommitted)])
    return new OffsetWatch(committed, uncommitted, topic, partitions)
  }

  async stableAndEnd(): Promise<Array<{ stable: number; end: number }>> {
    const stable = await this.#high(this.#committed)
    const end = await this.#high(this.#uncommitted)
    return stable.map((offset, p) => ({ stable: offset, end: end[p] as number }))
  }

  async openTransactionPartitions(): Promise<number[]> {
    return (await this.stableAndEnd()).flatMap(({ stable, end }, p) => (stable < end ? [p] : []))
  }

  async close(): Promise<void> {
    await Promise.all([this.#committed, this.#uncommitted].map((consumer) => new Promise<void>((resolve) => consumer.disconnect(() => resolve()))))
  }

  async #high(consumer: Kafka.KafkaConsumer): Promise<number[]> {
    const offsets: number[] = []
    for (let partition = 0; partition < this.#partitions; partition++) {
      offsets.push(
        await new Promise<number>((resolve, reject) => {
          consumer.queryWatermarkOffsets(this.#topic, partition, 10_000, (err, found) => (err ? reject(err) : resolve(found.highOffset)))
        }),
      )
    }
    return offsets
  }
}

function connect(consumer: Kafka.KafkaConsumer): Promise<void> {
  return new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
}

/** Records of one partition that a read_uncommitted reader sees and a read_committed one does not (an open or aborted transaction's). */
export async function uncommittedOnly(bootstrapServers: string, topic: string, partition: number): Promise<Kafka.Message[]> {
  const all = await readPartition(bootstrapServers, topic, partition, { isolation: 'read_uncommitted', timeoutMs: 30_000 })
  const committed = new Set((await readPartition(bootstrapServers, topic, partition, { isolation: 'read_committed', timeoutMs: 30_000 })).map((record) => record.offset))
  return all.filter((record) => !committed.has(record.offset))
}

/**
 * Freezes a `kvp run --exactly-once` process (SIGSTOP) at a moment when its transaction is
 * open: records it wrote to `output` are in the log, not committed. It runs until such
 * records show, then is frozen; a commit it sent just before the freeze still completes at
 * the coordinator, so the transaction must still be open 250 ms later, or the process is
 * thawed (SIGCONT) and the wait starts again. With `group`, the transaction must not hold
 * the group's offsets yet either (they go to it just before the commit, and once there the
 * commit is the member's to finish, whatever happens to its membership). Resolves with the
 * partitions of `output` the open transaction holds.
 */
export async function freezeWithOpenTransaction(proc: KvpProcess, bootstrapServers: string, output: string, group?: { groupId: string; topic: string }, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  const watch = await OffsetWatch.open(bootstrapServers, output)
  try {
    for (;;) {
      await waitFor(`records of an open transaction in ${output}`, async () => (await watch.openTransactionPartitions()).length > 0, Math.max(0, deadline - Date.now()), 5)
      proc.child.kill('SIGSTOP')
      await sleep(250)
      const open = await watch.openTransactionPartitions()
      if (open.length > 0 && (group === undefined || (await offsetsStable(bootstrapServers, group.groupId, group.topic)))) return open
      proc.child.kill('SIGCONT')
    }
  } finally {
    await watch.close()
  }
}

/**
 * Whether the group's committed offsets of `topic` can be read as stable: false while an open
 * transaction holds offsets for them (the coordinator answers UNSTABLE_OFFSET_COMMIT, which
 * librdkafka retries until the timeout).
 */
async function offsetsStable(bootstrapServers: string, groupId: string, topic: string, partitions = 4): Promise<boolean> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, 'isolation.level': 'read_committed', log_level: 3 }, {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    const toppars = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
    return await new Promise<boolean>((resolve) => consumer.committed(toppars, 1000, (err) => resolve(!err)))
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

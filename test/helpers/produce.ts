import { produceMessages as produce } from '../../src/kafka/produce.js'
import type { ProduceMessagesOptions } from '../../src/kafka/produce.js'
import { createTopic } from './broker.js'
import type { TopicSpec } from './broker.js'

const made = new Map<string, Promise<void>>()

/**
 * Makes sure a test topic exists (tests never rely on a broker auto-creating topics):
 * created once per process and address, with 4 partitions unless `spec` says otherwise.
 */
export function ensureTopic(bootstrapServers: string, topic: string, spec: TopicSpec = {}): Promise<void> {
  const id = `${bootstrapServers}/${topic}`
  let creating = made.get(id)
  if (!creating) {
    creating = createTopic(bootstrapServers, topic, spec)
    made.set(id, creating)
    creating.catch(() => made.delete(id))
  }
  return creating
}

/** `produceMessages` of src/kafka/produce.ts, to a topic created first. */
export async function produceMessages(options: ProduceMessagesOptions): ReturnType<typeof produce> {
  await ensureTopic(options.bootstrapServers, options.topic)
  return produce(options)
}

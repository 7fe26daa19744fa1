/** kvp handler module for the `cpu` scenario: a fixed ~200 µs of hashing per message. */
import { cpuWork, type BenchMessage } from './work.js'

export default async function handle(message: BenchMessage): Promise<void> {
  cpuWork(message.value)
}

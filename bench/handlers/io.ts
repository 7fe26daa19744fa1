/** kvp handler module for the `io` scenario: a 1 ms await per message. */
import { ioWork, type BenchMessage } from './work.js'

export default async function handle(_message: BenchMessage): Promise<void> {
  await ioWork()
}

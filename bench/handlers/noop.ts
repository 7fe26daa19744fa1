/** kvp handler module for the `noop` scenario: no work, measures the transport alone. */
import { noopWork, type BenchMessage } from './work.js'

export default async function handle(_message: BenchMessage): Promise<void> {
  noopWork()
}

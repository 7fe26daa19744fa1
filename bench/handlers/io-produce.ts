/** kvp handler module for the `io + produce` scenario: a 1 ms await, then one output record per input. */
import type { HandlerContext } from '../../src/worker/handler-loader.js'
import { ioWork } from './work.js'

const output = process.env.KVP_BENCH_OUTPUT ?? 'bench-output'

export default async function handle(message: { key: Buffer | null; value: Buffer | null }, ctx: HandlerContext): Promise<void> {
  await ioWork()
  ctx.produce({ topic: output, key: message.key, value: message.value })
}

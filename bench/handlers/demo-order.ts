/** The demo's order handler: pretends to call a payment service, 1 ms per order. */
import { ioWork } from './work.js'

export default async function handle(_order: { key: unknown; value: unknown }): Promise<void> {
  await ioWork()
}

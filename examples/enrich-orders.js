/**
 * Consume → transform → produce: reads JSON orders, adds the customer's tier and writes
 * each enriched order to `orders.enriched`, keyed like its source so per-customer order holds.
 *
 *   npm run build
 *   node bin/kvp.js produce --brokers mock --topic orders --count 1000 --json   # or your cluster
 *   node bin/kvp.js run --brokers <host:port> --group enrich --topic orders \
 *     --handler examples/enrich-orders.js --payload json
 *
 * At least once (the default): an order counts as done (and its offset may be committed)
 * only once its enriched record has a successful delivery report; a crash before that
 * replays the order, so a reader may see an enriched order twice.
 *
 * Exactly once: add `--exactly-once --transactional-id enrich-1`. The enriched records and
 * the consumed offsets are committed together in Kafka transactions; a reader with
 * isolation.level=read_committed sees each enriched order once. The handler is the same.
 */
const TIERS = ['bronze', 'silver', 'gold']

export default async function handle(message, ctx) {
  const order = message.payload ?? {}
  const customer = String(order.key ?? message.key ?? '')
  // Stands in for a lookup (a cache, a service call).
  const tier = TIERS[customer.length % TIERS.length]
  ctx.produce({
    topic: process.env.ENRICHED_TOPIC ?? 'orders.enriched',
    key: message.key,
    value: JSON.stringify({ ...order, tier, enrichedAt: Date.now() }),
    headers: { 'source-offset': `${message.partition}:${message.offset}` },
  })
}

import { strict as assert } from 'node:assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { startEngine } from '../../src/index.js'
import { serveOperations } from '../../src/ops/http-server.js'
import type { StatusReport } from '../../src/ops/status-report.js'
import { POISON_MESSAGE } from '../fixtures/status-page-handler.js'
import { useBroker } from '../helpers/broker.js'
import { chromium, needsChromium } from '../helpers/chromium.js'
import { streamMessages } from '../helpers/group.js'
import type { StreamProducer } from '../helpers/group.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { tempFile } from '../helpers/paths.js'
import { ensureTopic } from '../helpers/produce.js'

const cluster = useBroker()
const handler = fileURLToPath(new URL('../fixtures/status-page-handler.js', import.meta.url))
/** Screenshots go here (git-ignored); one good one is copied to docs/status-page.png by hand. */
const outputDir = fileURLToPath(new URL('../../../test-output/', import.meta.url))

const fmt = new Intl.NumberFormat('en-US')
const num = (n: number | null): string => (n === null ? '–' : fmt.format(Math.round(n)))

test('the status page renders 3 topics and 12 partitions in headless Chromium, with the numbers of /status, the poison message error as text, and no script run from it', {
  ...needsChromium,
  timeout: 170_000,
}, async (t) => {
  const { chromium: browserType } = await import('playwright-core')
  const topics = [uniqueName('orders'), uniqueName('payments'), uniqueName('shipments')]
  for (const topic of topics) await ensureTopic(cluster.bootstrapServers, topic)
  const deadLetterTopic = uniqueName('dlq')
  await ensureTopic(cluster.bootstrapServers, deadLetterTopic)
  const fast = tempFile('fast')
  // One slow partition (shipments[1]: 16 lanes at 500 ms a message, fed ~90 a second) fills up and is paused.
  Object.assign(process.env, {
    KVP_TEST_DELAY_MS: '20',
    KVP_TEST_POISON_TOPIC: topics[0],
    KVP_TEST_POISON_OFFSET: '5',
    KVP_TEST_SLOW_TOPIC: topics[2],
    KVP_TEST_SLOW_PARTITION: '1',
    KVP_TEST_SLOW_MS: '500',
    KVP_TEST_SLOW_UNTIL: fast,
  })
  const streams: StreamProducer[] = []
  t.after(async () => {
    for (const stream of streams) await stream.stop().catch(() => {})
  })
  // Load that the charts can show: a steady stream to every topic while the page is open.
  for (const [i, topic] of topics.entries()) streams.push(await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic, ratePerSecond: 150 + 100 * i, keys: 500 }))
  const groupId = uniqueName('orders-processor')
  const engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId,
    topics: topics.map((topic, i) => ({
      topic,
      handler,
      virtualPartitions: { lanes: [64, 32, 16][i] as number },
      ...(i === 0 ? { retry: { maxAttempts: 3, backoffMs: 200 }, deadLetter: { topic: deadLetterTopic } } : {}),
    })),
    threads: 2,
    batchSize: 100,
    backpressure: { maxInFlightPerPartition: 400 },
    kafka: { 'session.timeout.ms': 6000 },
  })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false, group: groupId, history: { intervalMs: 1000 } })
  const browser = await browserType.launch({ executablePath: chromium as string, args: ['--no-sandbox'], headless: true })
  t.after(async () => {
    await browser.close()
    await engine.stop()
    await ops.close()
  })
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  const base = `http://127.0.0.1:${ops.port}`
  const started = Date.now()
  await page.goto(`${base}/`)
  await page.waitForSelector('body[data-rendered]', { timeout: 20_000 })
  const loadMs = Date.now() - started
  t.diagnostic(`status page first render ${loadMs} ms after navigation`)

  const status = async (): Promise<StatusReport> => (await (await fetch(`${base}/status`)).json()) as StatusReport
  await waitFor(
    '12 partitions assigned, and the poison message dead-lettered',
    async () => {
      const s = await status()
      return s.partitions.length === 12 && s.totals.deadLettered >= 1 && s.partitions.every((p) => p.handled > 0)
    },
    90_000,
    250,
  )
  // Some throughput history for the charts, and the slow partition paused.
  await new Promise((resolve) => setTimeout(resolve, 10_000))
  await waitFor('the slow partition to be paused', async () => (await status()).partitions.some((p) => p.topic === topics[2] && p.partition === 1 && p.paused), 30_000, 100)
  await waitFor('the page to show it paused', async () => ((await page.locator(`tr[data-partition="${topics[2]}/1"]`).getAttribute('class')) ?? '').includes('paused'), 10_000, 100)

  // Every partition, grouped by topic.
  await waitFor('the page to show 12 partition rows', async () => (await page.locator('table.partitions tbody tr').count()) === 12, 10_000, 100)
  assert.deepEqual(await page.locator('#topics h3').evaluateAll((nodes) => nodes.map((n) => n.firstChild?.textContent)), [...topics].sort())

  // The poison message's error is in the errors panel, as text; nothing in it ran.
  const errorCell = page.locator('#errors td.msg').first()
  assert.equal(await errorCell.textContent(), POISON_MESSAGE)
  assert.ok(await page.getByText(POISON_MESSAGE).first().isVisible())
  assert.equal(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned), undefined)
  assert.equal(await page.locator('#errors script, #dead-letters script').count(), 0)
  const errorRow = await page.locator('#errors tbody tr').first().locator('td').allTextContents()
  assert.deepEqual(errorRow.slice(1, 5), [`${topics[0]}[0]`, '5', '3', 'KVP_HANDLER'])
  assert.equal(await page.locator('#dead-letters td.msg').first().textContent(), POISON_MESSAGE)

  // The poisoned partition's row is marked failing (it failed within the last minute).
  assert.match((await page.locator(`tr[data-partition="${topics[0]}/0"]`).getAttribute('class')) ?? '', /failing/)

  const shotDir = join(outputDir, 'operations-page')
  mkdirSync(shotDir, { recursive: true })
  assert.match((await page.locator(`tr[data-partition="${topics[2]}/1"] td`).nth(8).textContent()) ?? '', /paused/)
  await page.screenshot({ path: join(shotDir, 'status-page.png'), fullPage: true })

  // Quiet: stop the streams, let every message finish, and compare the page with /status.
  for (const stream of streams.splice(0)) await stream.stop()
  writeFileSync(fast, '')
  await waitFor(
    'every message done and committed',
    async () => {
      const s = await status()
      return s.partitions.every((p) => p.inFlight === 0 && p.lag === 0 && p.committed === p.highWatermark)
    },
    60_000,
    250,
  )
  const final = await status()
  await waitFor('the page to render after the quiet point', async () => Number(await page.getAttribute('body', 'data-rendered')) > final.generatedAt, 10_000, 100)
  for (const p of final.partitions) {
    const cells = await page.locator(`tr[data-partition="${p.topic}/${p.partition}"] td`).allTextContents()
    assert.equal(cells[0], String(p.partition))
    assert.equal(cells[3], num(p.lag), `${p.topic}/${p.partition} lag`)
    assert.equal(cells[5], `high ${num(p.highWatermark)} · watermark ${num(p.watermark)} · committed ${num(p.committed)}`, `${p.topic}/${p.partition} offsets`)
    assert.equal(cells[7], num(p.inFlight))
    assert.equal(cells[9], num(p.failures), `${p.topic}/${p.partition} failures`)
    assert.equal(cells[10], num(p.deadLettered))
  }
  assert.equal(await page.locator('#summary .tile').filter({ hasText: 'dead letters' }).locator('.value').textContent(), num(final.totals.deadLettered))
  await page.screenshot({ path: join(shotDir, 'status-page-quiet.png'), fullPage: true })
  assert.deepEqual(pageErrors, [])
})

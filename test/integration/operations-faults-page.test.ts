/**
 * The status page shows what stops progress: a fault from `engine.faults()` appears in a red
 * "Stopped by" panel with its code, place, cause and fix, and /readyz names it. The engine here
 * is the real server over a stand-in engine that reports one fault, so the page test needs
 * no cluster in that state.
 */
import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { ActiveFault } from '../../src/index.js'
import { ErrorCodes, FaultKinds } from '../../src/index.js'
import { serveOperations } from '../../src/ops/http-server.js'
import { chromium, needsChromium } from '../helpers/chromium.js'
import { fakeEngine } from '../helpers/fake-engine.js'

const FAULT: ActiveFault = {
  kind: FaultKinds.AUTHORIZATION,
  code: ErrorCodes.AUTHORIZATION,
  topic: 'orders',
  cause: "kvp's principal is not allowed to read topic 'orders'",
  fix: "grant the principal READ and DESCRIBE on topic 'orders'",
  detail: 'Broker: Topic authorization failed',
  permanent: false,
  origin: 'consume',
  since: Date.now() - 5_000,
  lastSeen: Date.now(),
  count: 3,
}

test('a fault is on /status, fails /readyz naming it, and shows in a red "Stopped by" panel of the status page', { ...needsChromium, timeout: 60_000 }, async (t) => {
  const ops = await serveOperations(fakeEngine([FAULT]).engine, { port: 0, defaultMetrics: false })
  t.after(() => ops.close())
  const base = `http://127.0.0.1:${ops.port}`
  const status = (await (await fetch(`${base}/status`)).json()) as { faults: ActiveFault[] }
  assert.deepEqual(
    status.faults.map((f) => [f.code, f.topic, f.cause]),
    [[FAULT.code, 'orders', FAULT.cause]],
  )
  const ready = await fetch(`${base}/readyz`)
  assert.equal(ready.status, 503)
  assert.match(((await ready.json()) as { reasons: string[] }).reasons.join(), /KVP_AUTHORIZATION orders: kvp's principal is not allowed to read topic 'orders'/)
  const metrics = await (await fetch(`${base}/metrics`)).text()
  assert.match(metrics, /kvp_faults\{code="KVP_AUTHORIZATION"\} 1/)

  const { chromium: browserType } = await import('playwright-core')
  const browser = await browserType.launch({ executablePath: chromium as string, args: ['--no-sandbox'], headless: true })
  t.after(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${base}/`)
  await page.waitForSelector('body[data-rendered]', { timeout: 20_000 })
  const panel = page.locator('#faults-panel')
  assert.equal(await panel.isVisible(), true)
  const row = (await page.locator('#faults tbody tr').first().textContent()) ?? ''
  assert.match(row, /KVP_AUTHORIZATION/)
  assert.match(row, /orders\[\*\]/)
  assert.match(row, /not allowed to read topic 'orders'/)
  assert.match(row, /grant the principal READ and DESCRIBE/)
  // Red: the panel's border is the page's "bad" colour.
  const border = await panel.evaluate((node) => (globalThis as unknown as { getComputedStyle(n: unknown): { borderTopColor: string } }).getComputedStyle(node).borderTopColor)
  assert.equal(border, 'rgb(214, 69, 69)')
})

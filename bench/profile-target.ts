/**
 * One profiled kvp run, started by `bench/profile.ts` under `node --cpu-prof`: consumes a
 * prefilled topic to its end and prints, as one JSON line on stdout, what happened inside
 * the measured window (first fetched message → last handled one) and the window itself on
 * the monotonic clock that V8's profiles use, so the driver can cut start-up and shutdown
 * out of every thread's profile.
 *
 * usage: node --cpu-prof dist/bench/profile-target.js <bootstrap> <topic> <messages> <lanes> <scenario>
 * (lanes 0: the raw node-rdkafka loop of the baseline, no handler, for what fetching costs by itself)
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { startEngine } from '../src/index.js'
import type { AckEvent } from '../src/diagnostics.js'
import { handlerUrl } from './lib/handlers.js'
import { kvpSetup } from './systems/kvp.js'
import { runRaw } from './systems/raw.js'

export interface ProfiledWindow {
  messages: number
  slices: number
  /** Window bounds, microseconds on the monotonic clock (V8 profile timestamps). */
  fromUs: number
  toUs: number
}

const [bootstrapServers, topic, messagesText, lanesText, scenario] = process.argv.slice(2)
if (bootstrapServers === undefined || topic === undefined || scenario === undefined) {
  console.error('usage: profile-target <bootstrap> <topic> <messages> <lanes> <scenario>')
  process.exit(2)
}
const messages = Number(messagesText)
const lanes = Number(lanesText)
const PARTITIONS = 4
const nowUs = () => Number(process.hrtime.bigint() / 1000n)

let slices = 0
let counting = false
const onAck = (event: unknown) => {
  if (counting) slices += (event as AckEvent).handled > 0 ? 1 : 0
}
diagnosticsChannel.subscribe('kvp:ack', onAck)

if (lanes === 0) {
  let fromUs = 0
  const measured = await runRaw({
    bootstrapServers,
    topic,
    groupId: `profile-${topic}`,
    scenario: 'noop',
    count: messages,
    timeBoxMs: 600_000,
    onProgress: () => {
      if (fromUs === 0) fromUs = nowUs()
    },
  })
  const window: ProfiledWindow = { messages: measured.handled, slices: 0, fromUs, toUs: nowUs() }
  console.log(JSON.stringify(window))
  process.exit(0)
}

const setup = kvpSetup(lanes, 2, PARTITIONS)
const engine = await startEngine({
  brokers: bootstrapServers,
  groupId: `profile-${topic}`,
  topics: [{ topic, handler: handlerUrl(scenario), virtualPartitions: { lanes } }],
  threads: setup.threads,
  concurrencyPerThread: setup.concurrencyPerThread,
  fromBeginning: true,
  kafka: { 'session.timeout.ms': 6000 },
})
let fromUs = 0
let handledAtStart = 0
for (;;) {
  const totals = engine.stats().totals
  if (fromUs === 0 && totals.fetched > 0) {
    fromUs = nowUs()
    handledAtStart = totals.handled
    counting = true
  }
  if (totals.handled >= messages) break
  await sleep(1)
}
const toUs = nowUs()
counting = false
const window: ProfiledWindow = { messages: messages - handledAtStart, slices, fromUs, toUs }
await engine.stop()
diagnosticsChannel.unsubscribe('kvp:ack', onAck)
console.log(JSON.stringify(window))

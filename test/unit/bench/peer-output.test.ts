import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../../bench/lib/paths.js'
import { parsePeerLine, peerMeasurement, pomProperty } from '../../../bench/lib/peer-output.js'

test("a peer's JSON lines parse into typed events", () => {
  assert.deepEqual(parsePeerLine('{"event":"started","java":"17.0.15","kafkaClients":"3.9.2","cpuMicrosPerMessage":41.5}'), {
    event: 'started',
    java: '17.0.15',
    kafkaClients: '3.9.2',
    cpuMicrosPerMessage: 41.5,
  })
  assert.deepEqual(parsePeerLine('{"event":"started","java":"17.0.15","kafkaClients":"3.9.2"}'), { event: 'started', java: '17.0.15', kafkaClients: '3.9.2', cpuMicrosPerMessage: null })
  assert.deepEqual(parsePeerLine('  {"event":"progress","handled":1200}\r'), { event: 'progress', handled: 1200 })
  assert.deepEqual(parsePeerLine('{"event":"result","handled":46394,"firstCount":12,"seconds":1.500123,"timeBoxed":true,"startupMs":812.5,"peakRssKiB":390144}'), {
    event: 'result',
    handled: 46394,
    firstCount: 12,
    seconds: 1.500123,
    timeBoxed: true,
    startupMs: 812.5,
    peakRssKiB: 390144,
  })
  assert.deepEqual(parsePeerLine('{"event":"error","message":"no message handled for 30 s"}'), { event: 'error', message: 'no message handled for 30 s' })
})

test("anything else on a peer's stdout is ignored, not an error", () => {
  for (const line of [
    '',
    'SLF4J: No providers were found.',
    '{"event":"progress"',
    '[1,2]',
    'null',
    '{"event":"progress","handled":"12"}',
    '{"event":"started","java":17}',
    '{"event":"result","handled":1}',
    '{"event":"bye"}',
    '{"handled":3}',
  ]) {
    assert.equal(parsePeerLine(line), null, line)
  }
})

test('a result without a peak RSS (not Linux) still parses, and says so with -1', () => {
  const parsed = parsePeerLine('{"event":"result","handled":10,"firstCount":1,"seconds":1,"timeBoxed":false,"startupMs":5}')
  assert.equal(parsed?.event === 'result' ? parsed.peakRssKiB : null, -1)
})

test("a peer's result is measured like the meter: messages after the first observation over the span", () => {
  const measurement = peerMeasurement({ event: 'result', handled: 10_100, firstCount: 100, seconds: 2, timeBoxed: true, startupMs: 900, peakRssKiB: 300 * 1024 })
  assert.deepEqual(measurement, { handled: 10_100, seconds: 2, msgPerSec: 5_000, timeBoxed: true, startupMs: 900, peakRssMiB: 300 })
  const none = peerMeasurement({ event: 'result', handled: 0, firstCount: 0, seconds: 0, timeBoxed: false, startupMs: 0, peakRssKiB: -1 })
  assert.equal(none.msgPerSec, 0)
  assert.equal('peakRssMiB' in none, false)
})

test("pom properties are read from <properties> only, and the peer's pom names its versions", () => {
  const pom = '<project><version>1</version><properties>\n  <a.version> 0.5.3.3 </a.version>\n  <b>x</b>\n</properties><a.version>9</a.version></project>'
  assert.equal(pomProperty(pom, 'a.version'), '0.5.3.3')
  assert.equal(pomProperty(pom, 'c'), undefined)
  assert.equal(pomProperty('<project/>', 'a.version'), undefined)
  const peer = readFileSync(join(packageRoot, 'bench', 'peers', 'parallel-consumer', 'pom.xml'), 'utf8')
  assert.match(pomProperty(peer, 'parallel-consumer.version') ?? '', /^0\.5\.3\.\d+$/)
  assert.match(pomProperty(peer, 'kafka-clients.version') ?? '', /^3\.9\.\d+$/)
})

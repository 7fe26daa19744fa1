import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, it, type TestContext } from 'node:test'
import { KAFKA_VERSION } from '../../../tools/apache-kafka/broker.js'
import { classArchive, removeStaleRecordings } from '../../../tools/apache-kafka/class-archive.js'
import { findOnPath, kafkaJar, readCachedClasspath, requireOnPath } from '../../../tools/apache-kafka/classpath.js'
import { brokerSettings, clusterId, jvmArgs, log4j2Properties, pomXml, serverProperties, STARTED_LINE } from '../../../tools/apache-kafka/config-files.js'
import { GuardedJvm } from '../../../tools/apache-kafka/guarded-jvm.js'
import { waitFor } from '../../helpers/kafka.js'
import { isAlive } from '../../helpers/process.js'

const MAIN = fileURLToPath(new URL('../../../tools/apache-kafka/main.js', import.meta.url))
const GUARDED_JVM_URL = pathToFileURL(fileURLToPath(new URL('../../../tools/apache-kafka/guarded-jvm.js', import.meta.url))).href

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-test-kafka-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function parseProperties(text: string): Map<string, string> {
  const entries = text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=')
      return [line.slice(0, at), line.slice(at + 1)] as [string, string]
    })
  return new Map(entries)
}

async function waitUntil(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Runs `node main.js` with the given environment; resolves with its exit code and output. */
async function runMain(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

describe('Apache Kafka launcher: generated files', { timeout: 10_000 }, () => {
  const input = { port: 39092, controllerPort: 39093, logDir: '/data/kraft-logs', autoCreateTopics: true }

  it('server.properties describes one KRaft node with broker and controller on loopback', () => {
    const props = parseProperties(serverProperties(input))
    assert.equal(props.get('process.roles'), 'broker,controller')
    assert.equal(props.get('node.id'), '1')
    assert.equal(props.get('controller.quorum.voters'), '1@127.0.0.1:39093')
    assert.equal(props.has('controller.quorum.bootstrap.servers'), false, 'static voters and bootstrap servers must not be combined')
    assert.equal(props.get('listeners'), 'PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093')
    assert.equal(props.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:39092')
    assert.equal(props.get('controller.listener.names'), 'CONTROLLER')
    assert.equal(props.get('listener.security.protocol.map'), 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT')
    assert.equal(props.get('log.dirs'), '/data/kraft-logs')
    assert.equal(props.get('num.partitions'), '4')
  })

  it('server.properties gives every internal topic replication factor 1 and min ISR 1', () => {
    const props = parseProperties(serverProperties(input))
    for (const key of [
      'offsets.topic.replication.factor',
      'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr',
      'share.coordinator.state.topic.replication.factor',
      'share.coordinator.state.topic.min.isr',
    ]) {
      assert.equal(props.get(key), '1', key)
    }
  })

  it('server.properties lets tests use short sessions with both group protocols and see compaction quickly', () => {
    const settings = brokerSettings(input)
    const ms = (key: string): number => Number(settings.get(key))
    assert.equal(settings.get('group.initial.rebalance.delay.ms'), '0')
    assert.equal(ms('group.consumer.session.timeout.ms'), 6000)
    assert.ok(ms('group.consumer.min.session.timeout.ms') <= ms('group.consumer.session.timeout.ms'))
    assert.ok(ms('group.consumer.min.heartbeat.interval.ms') <= ms('group.consumer.heartbeat.interval.ms'))
    assert.ok(ms('group.consumer.heartbeat.interval.ms') < ms('group.consumer.session.timeout.ms'))
    assert.ok(ms('group.min.session.timeout.ms') <= 6000, 'classic clients may ask for session.timeout.ms=6000')
    assert.ok(ms('log.cleaner.dedupe.buffer.size') <= 16 * 1024 * 1024, 'the dedupe buffer is small')
    assert.ok(ms('log.cleaner.backoff.ms') <= 1000)
  })

  it('auto.create.topics.enable follows the option', () => {
    assert.equal(brokerSettings({ ...input, autoCreateTopics: true }).get('auto.create.topics.enable'), 'true')
    assert.equal(brokerSettings({ ...input, autoCreateTopics: false }).get('auto.create.topics.enable'), 'false')
  })

  it('the pom names kafka_2.13 at the pinned version and a log4j 2 binding for slf4j', () => {
    const pom = pomXml(KAFKA_VERSION)
    assert.match(pom, /^<\?xml /)
    assert.match(pom, new RegExp(`<artifactId>kafka_2\\.13</artifactId>\\s*<version>${KAFKA_VERSION.replaceAll('.', '\\.')}</version>`))
    assert.match(pom, /<artifactId>log4j-slf4j-impl<\/artifactId>/)
    assert.equal(pom.match(/<dependency>/g)?.length, 2)
    assert.match(pomXml('9.9.9'), /<artifactId>kafka_2\.13<\/artifactId>\s*<version>9\.9\.9<\/version>/)
  })

  it('the log4j 2 configuration is quiet but keeps the readiness line', () => {
    const props = parseProperties(log4j2Properties().replaceAll(' = ', '='))
    assert.equal(props.get('rootLogger.level'), 'warn')
    assert.equal(props.get('logger.started.name'), 'kafka.server.KafkaRaftServer')
    assert.equal(props.get('logger.started.level'), 'info')
    assert.equal(STARTED_LINE, 'Kafka Server started')
  })

  it('the broker JVM has a heap of at most 512 MiB and the given log4j 2 configuration', () => {
    const args = jvmArgs('broker', '/x/log4j2.properties')
    assert.ok(args.includes('-Xmx512m'))
    assert.ok(args.includes('-XX:+UseSerialGC'))
    assert.ok(args.includes('-Dlog4j2.configurationFile=/x/log4j2.properties'))
    assert.ok(jvmArgs('format', '/x').includes('-Xmx128m'))
  })

  it('a cluster id is 22 base64url characters and never starts with a dash', () => {
    let calls = 0
    // 0xf8 encodes as '-' first; the next draw (zeros) does not.
    const id = clusterId((size) => new Uint8Array(size).fill(calls++ === 0 ? 0xf8 : 0))
    assert.equal(calls, 2)
    assert.equal(id, 'AAAAAAAAAAAAAAAAAAAAAA')
    assert.match(
      clusterId((size) => new Uint8Array(size).fill(7)),
      /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/,
    )
  })
})

describe('Apache Kafka launcher: the classpath cache and the commands it needs', { timeout: 30_000 }, () => {
  it('a cached classpath is used only while it lists the kafka jar and every jar exists', async (t) => {
    const dir = tempDir(t)
    const kafkaPath = join(dir, `kafka_2.13-${KAFKA_VERSION}.jar`)
    const otherJar = join(dir, 'other.jar')
    writeFileSync(kafkaPath, '')
    writeFileSync(otherJar, '')
    const file = join(dir, 'classpath.txt')
    assert.equal(await readCachedClasspath(file, kafkaJar(KAFKA_VERSION)), undefined, 'no file')
    writeFileSync(file, `${kafkaPath}:${otherJar}\n`)
    assert.deepEqual(await readCachedClasspath(file, kafkaJar(KAFKA_VERSION)), [kafkaPath, otherJar])
    assert.equal(await readCachedClasspath(file, kafkaJar('0.0.1')), undefined, 'another version')
    rmSync(otherJar)
    assert.equal(await readCachedClasspath(file, kafkaJar(KAFKA_VERSION)), undefined, 'a jar is gone')
  })

  it('findOnPath finds executables only, in PATH order', (t) => {
    const first = tempDir(t)
    const second = tempDir(t)
    writeFileSync(join(first, 'tool'), '', { mode: 0o644 })
    writeFileSync(join(second, 'tool'), '#!/bin/sh\n', { mode: 0o755 })
    assert.equal(findOnPath('tool', `${first}:${second}`), join(second, 'tool'))
    assert.equal(findOnPath('tool', first), undefined)
    assert.equal(findOnPath('tool', undefined), undefined)
    assert.throws(() => requireOnPath('mvn', first), /`mvn` was not found on PATH: Maven resolves/)
    assert.throws(() => requireOnPath('java', ''), /`java` was not found on PATH: Apache Kafka runs on a Java 17\+ runtime/)
  })

  it('npm run kafka without java on PATH exits 1 with one line naming java', async (t) => {
    const emptyPath = tempDir(t)
    const result = await runMain({ PATH: emptyPath, HOME: tempDir(t) }, 20_000)
    assert.equal(result.code, 1, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /^kafka: cannot start Apache Kafka [\d.]+: `java` was not found on PATH[^\n]*\n$/)
  })

  it('npm run kafka with java but without mvn and no cached classpath exits 1 with one line naming mvn', async (t) => {
    const java = findOnPath('java', process.env.PATH)
    if (java === undefined) return t.skip('no java on PATH here')
    const onlyJava = tempDir(t)
    symlinkSync(java, join(onlyJava, 'java'))
    const home = tempDir(t)
    const result = await runMain({ PATH: onlyJava, HOME: home }, 20_000)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^kafka: cannot start Apache Kafka [\d.]+: `mvn` was not found on PATH[^\n]*\n$/)
    assert.equal(existsSync(join(home, '.cache', 'kvp', `apache-kafka-${KAFKA_VERSION}`, 'classpath.txt')), false)
  })
})

describe('Apache Kafka launcher: the class-data sharing archive', { timeout: 10_000 }, () => {
  const flagValue = (args: string[], flag: string): string | undefined => args.find((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1)

  it("the first JVM records an archive that later JVMs map, and a killed JVM's recording is dropped", async (t) => {
    const dir = tempDir(t)
    const java = join(dir, 'java')
    writeFileSync(java, '')
    const archive = classArchive(dir, java, ['/a.jar', '/b.jar'])
    assert.deepEqual(archive.sharedArchiveArgs(), [], 'nothing to map yet')

    const first = flagValue(archive.jvmArgs(), '-XX:ArchiveClassesAtExit')
    assert.ok(first?.endsWith('.partial'))
    writeFileSync(first as string, 'classes')
    await archive.jvmExited(128 + 9)
    assert.deepEqual(readdirSync(dir), ['java'], 'a SIGKILLed JVM may have written half an archive')

    const second = flagValue(archive.jvmArgs(), '-XX:ArchiveClassesAtExit')
    assert.ok(second !== undefined && second !== first)
    writeFileSync(second, 'classes')
    await archive.jvmExited(128 + 15)
    const mapped = flagValue(archive.jvmArgs(), '-XX:SharedArchiveFile')
    assert.ok(mapped !== undefined && existsSync(mapped) && !mapped.endsWith('.partial'))
    assert.deepEqual(archive.sharedArchiveArgs(), [`-XX:SharedArchiveFile=${mapped}`])
    await archive.jvmExited(0)
    assert.ok(existsSync(mapped), 'a JVM that mapped the archive leaves it alone')

    const otherClasspath = classArchive(dir, java, ['/a.jar'])
    assert.ok(flagValue(otherClasspath.jvmArgs(), '-XX:ArchiveClassesAtExit'), 'another classpath needs its own archive')
  })

  it('recordings left by killed processes are removed once they are old', async (t) => {
    const dir = tempDir(t)
    const old = join(dir, 'broker-classes-0123.jsa.42-0.partial')
    const fresh = join(dir, 'broker-classes-0123.jsa.43-0.partial')
    const other = join(dir, 'classpath.txt')
    for (const file of [old, fresh, other]) writeFileSync(file, 'x')
    const hourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(old, hourAgo, hourAgo)
    utimesSync(other, hourAgo, hourAgo)
    await removeStaleRecordings(dir)
    assert.deepEqual(readdirSync(dir).sort(), [fresh, other].map((file) => file.slice(dir.length + 1)).sort())
  })
})

describe('Apache Kafka launcher: the process guard', { timeout: 30_000 }, () => {
  it('a guarded process stops on terminate() and keeps its folder, and is killed when it ignores SIGTERM', async (t) => {
    const dir = tempDir(t)
    const logFile = join(dir, 'out.log')
    const keptDir = join(dir, 'data')
    mkdirSync(keptDir)
    const polite = await GuardedJvm.start(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: dir, logFile, env: process.env, removeIfOrphaned: keptDir })
    t.after(() => polite.terminate(0))
    assert.ok(isAlive(polite.pid))
    const exit = await polite.terminate(5_000)
    assert.equal(exit.code, 128 + 15, "java's status as the shell reports a SIGTERM")
    assert.equal(isAlive(polite.pid), false)
    assert.ok(existsSync(keptDir), 'a terminate() from a live parent keeps the folder')

    const stubborn = await GuardedJvm.start(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")'], { cwd: dir, logFile, env: process.env })
    t.after(() => stubborn.terminate(0))
    // It prints 'up' once its SIGTERM handler is in place (the log file takes its output).
    await waitFor('the stubborn process to ignore SIGTERM', () => readFileSync(logFile, 'utf8').includes('up'), 10_000, 20)
    const began = Date.now()
    assert.equal((await stubborn.terminate(300)).code, 128 + 9)
    assert.ok(Date.now() - began < 3_000)
    assert.equal(polite.running || stubborn.running, false)
  })

  it('a guarded process does not outlive a parent killed with SIGKILL, and its folder is removed', async (t) => {
    const dir = tempDir(t)
    const orphanDir = join(dir, 'data')
    mkdirSync(orphanDir)
    const script = `
      import { GuardedJvm } from ${JSON.stringify(GUARDED_JVM_URL)}
      const jvm = await GuardedJvm.start(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: ${JSON.stringify(dir)}, logFile: ${JSON.stringify(join(dir, 'out.log'))}, env: process.env, removeIfOrphaned: ${JSON.stringify(orphanDir)} })
      console.log('PID=' + jvm.pid)
    `
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    t.after(() => parent.kill('SIGKILL'))
    let out = ''
    parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    await waitUntil('the guarded pid', () => /PID=\d+\n/.test(out), 10_000)
    const pid = Number(/PID=(\d+)/.exec(out)?.[1])
    assert.ok(isAlive(pid))
    parent.kill('SIGKILL')
    await waitUntil(`pid ${pid} to end`, () => !isAlive(pid), 10_000)
    await waitUntil(`the folder to be removed (guard log: ${readFileSync(join(dir, 'out.log'), 'utf8')})`, () => !existsSync(orphanDir), 5_000)
  })
})

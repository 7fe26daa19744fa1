/**
 * Apache Kafka, the reference broker, started by the project itself: one KRaft node
 * (broker and controller in one JVM) on 127.0.0.1, its jars resolved by Maven once and
 * cached, its data in a temporary folder. Used by the Apache Kafka test tier, the
 * benchmarks' JVM peers and `npm run kafka`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { classArchive, removeStaleRecordings } from './class-archive.js'
import { cacheDirFor, requireOnPath, resolveClasspath, runLogged } from './classpath.js'
import { clusterId, jvmArgs, log4j2Properties, serverProperties, type SecuritySettingsInput } from './config-files.js'
import { ApacheKafkaError, tailOfFile } from './errors.js'
import { GuardedJvm } from './guarded-jvm.js'
import { freePorts, waitUntilReady } from './readiness.js'
import { addScramArgs, makeTlsMaterial, randomUsers, secureListeners, type SecureListeners, type SecurePorts } from './security.js'

export { ApacheKafkaError } from './errors.js'
export { SECURITY_ENV, secureListenersFromEnv, secureListenersToEnv, type Credentials, type SecureListeners } from './security.js'

/** The Apache Kafka release the project tests against: org.apache.kafka:kafka_2.13 on Maven Central. */
export const KAFKA_VERSION = '4.1.1'

export interface ApacheKafka {
  readonly bootstrapServers: string
  readonly port: number
  readonly dataDir: string
  /** The secured listeners (SASL_SSL, WRONGHOST, MTLS) and their users; undefined unless started with `security: true`. */
  readonly security: SecureListeners | undefined
  /** Stops the JVM (SIGTERM, then SIGKILL after a grace period), keeps the data folder. */
  halt(): Promise<void>
  /** Starts the broker again on the same data folder and the same ports; resolves when ready. */
  restart(): Promise<void>
  /** Stops the JVM and removes the data folder. Idempotent. */
  stop(): Promise<void>
}

export interface ApacheKafkaOptions {
  /** auto.create.topics.enable; default true. */
  autoCreateTopics?: boolean
  /**
   * Also serve secured listeners, with ACLs enforced for their users (see
   * config-files.ts securitySettings()); PLAINTEXT stays open. Default false.
   */
  security?: boolean
  /** How long the broker may take to come up (each start and restart); default 60 s. */
  startTimeoutMs?: number
  /** Progress lines (resolving, formatting, started); the broker's own log goes to `<dataDir>/broker.log`. */
  log?: (line: string) => void
}

const DEFAULT_START_TIMEOUT_MS = 60_000
/** A single node's controlled shutdown takes about a second; past this java is killed. */
const HALT_GRACE_MS = 10_000

export async function startApacheKafka(options: ApacheKafkaOptions = {}): Promise<ApacheKafka> {
  const log = options.log ?? (() => {})
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
  const env = process.env
  const java = requireOnPath('java', env.PATH)
  const cacheDir = cacheDirFor(KAFKA_VERSION, env)
  const classpath = await resolveClasspath({ kafkaVersion: KAFKA_VERSION, cacheDir, env, log })
  await removeStaleRecordings(cacheDir)
  const classes = classArchive(cacheDir, java, classpath)

  const [port, controllerPort, saslSsl, wrongHost, mtls] = await freePorts(options.security ? 5 : 2)
  if (port === undefined || controllerPort === undefined) throw new Error('freePorts(2) returned fewer than two ports')
  const dataDir = await mkdtemp(join(tmpdir(), 'kvp-apache-kafka-'))
  const files = {
    serverProperties: join(dataDir, 'server.properties'),
    log4j: join(dataDir, 'log4j2.properties'),
    log: join(dataDir, 'broker.log'),
  }
  try {
    let security: PreparedSecurity | undefined
    if (options.security) {
      if (saslSsl === undefined || wrongHost === undefined || mtls === undefined) throw new Error('freePorts(5) returned fewer than five ports')
      const began = Date.now()
      security = await prepareSecurity(join(dataDir, 'tls'), { saslSsl, wrongHost, mtls }, env)
      log(`made the TLS material and users of the secured listeners in ${Date.now() - began} ms`)
    }
    await writeFile(
      files.serverProperties,
      serverProperties({
        port,
        controllerPort,
        logDir: join(dataDir, 'kraft-logs'),
        autoCreateTopics: options.autoCreateTopics ?? true,
        ...(security ? { security: security.settings } : {}),
      }),
      // Keystore passwords are in it.
      { mode: 0o600 },
    )
    await writeFile(files.log4j, log4j2Properties())

    log(`formatting the storage in ${dataDir}`)
    const formatArgs = [
      ...jvmArgs('format', files.log4j),
      ...classes.sharedArchiveArgs(),
      '-cp',
      classpath.join(':'),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId(randomBytes),
      '-c',
      files.serverProperties,
      // SCRAM users live in the metadata log: made here, before the broker first serves.
      ...(security?.formatArgs ?? []),
    ]
    const formatted = await runLogged(java, formatArgs, dataDir, files.log, env, startTimeoutMs)
    if (formatted !== 0) {
      const what = formatted === 'timeout' ? `did not finish within ${startTimeoutMs} ms` : `failed (exit ${String(formatted)})`
      throw new ApacheKafkaError(
        `formatting the Apache Kafka storage (kafka.tools.StorageTool format) ${what}; its log (broker.log in the data folder, removed with it) ended with:\n${await tailOfFile(files.log)}`,
      )
    }

    const launcher: BrokerLauncher = {
      async launch() {
        const began = Date.now()
        const logOffset = (await stat(files.log)).size
        const args = [...jvmArgs('broker', files.log4j), ...classes.jvmArgs(), '-cp', classpath.join(':'), 'kafka.Kafka', files.serverProperties]
        const jvm = await GuardedJvm.start(java, args, { cwd: dataDir, logFile: files.log, env, removeIfOrphaned: dataDir })
        try {
          await waitUntilReady({ jvm, logFile: files.log, logOffset, port, timeoutMs: startTimeoutMs, what: `Apache Kafka ${KAFKA_VERSION}` })
        } catch (err) {
          await launcher.terminate(jvm, 2_000)
          throw err
        }
        const secured = security ? ` (secured: SASL_SSL ${security.listeners.saslSsl}, WRONGHOST ${security.listeners.wrongHost}, MTLS ${security.listeners.mtls})` : ''
        log(`Apache Kafka ${KAFKA_VERSION} is up at 127.0.0.1:${port}${secured} after ${Date.now() - began} ms (java pid ${jvm.pid})`)
        return jvm
      },
      async terminate(jvm, graceMs) {
        const exit = await jvm.terminate(graceMs)
        await classes.jvmExited(exit.code)
      },
    }
    return new LaunchedKafka(port, dataDir, security?.listeners, launcher, await launcher.launch())
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
}

interface PreparedSecurity {
  settings: SecuritySettingsInput
  listeners: SecureListeners
  /** `--add-scram` arguments for the storage format. */
  formatArgs: string[]
}

/** The secured listeners' TLS material (made in `tlsDir`) and users, each with a fresh random password. */
async function prepareSecurity(tlsDir: string, ports: SecurePorts, env: NodeJS.ProcessEnv): Promise<PreparedSecurity> {
  const material = await makeTlsMaterial(tlsDir, randomBytes, env)
  const { users, plainUsers } = randomUsers(randomBytes)
  return {
    settings: {
      ports,
      keystore: { location: material.files.brokerKeystore, password: material.passwords.broker },
      wrongHostKeystore: { location: material.files.wrongHostKeystore, password: material.passwords.wrongHost },
      caCert: material.files.caCert,
      plainUsers: Object.values(plainUsers),
    },
    listeners: secureListeners(ports, material, users, plainUsers),
    formatArgs: addScramArgs(users),
  }
}

interface BrokerLauncher {
  /** Starts the broker JVM on the formatted data folder; resolves once it serves. */
  launch(): Promise<GuardedJvm>
  terminate(jvm: GuardedJvm, graceMs: number): Promise<void>
}

/** One broker's lifecycle; halt, restart and stop run one after another, never interleaved. */
class LaunchedKafka implements ApacheKafka {
  readonly port: number
  readonly dataDir: string
  readonly bootstrapServers: string
  readonly security: SecureListeners | undefined
  readonly #launcher: BrokerLauncher
  #jvm: GuardedJvm | undefined
  #stopped: Promise<void> | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor(port: number, dataDir: string, security: SecureListeners | undefined, launcher: BrokerLauncher, jvm: GuardedJvm) {
    this.port = port
    this.dataDir = dataDir
    this.security = security
    this.bootstrapServers = `127.0.0.1:${port}`
    this.#launcher = launcher
    this.#jvm = jvm
  }

  halt(): Promise<void> {
    return this.#serially(() => this.#halt())
  }

  restart(): Promise<void> {
    return this.#serially(async () => {
      if (this.#stopped) throw new ApacheKafkaError('restart(): this Apache Kafka was stopped and its data folder removed')
      await this.#halt()
      this.#jvm = await this.#launcher.launch()
    })
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#serially(async () => {
      await this.#halt()
      await rm(this.dataDir, { recursive: true, force: true })
    })
    return this.#stopped
  }

  async #halt(): Promise<void> {
    const jvm = this.#jvm
    this.#jvm = undefined
    if (jvm) await this.#launcher.terminate(jvm, HALT_GRACE_MS)
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(step)
    this.#queue = next.catch(() => {})
    return next
  }
}

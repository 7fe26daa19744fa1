/**
 * Builds a JVM peer of the benchmark (a folder of bench/peers/ with a pom.xml and one
 * Main.java) the way tools/apache-kafka finds the broker's jars: Maven resolves the pom's
 * runtime classpath once into a cache folder (~/.cache/kvp/bench-<peer>-<version>-<hash of
 * the pom>), javac compiles the source against it there (classes-<hash of the source>), and
 * later runs find both and start no Maven at all, so they work offline. Editing the pom
 * resolves afresh; editing the source only compiles again.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { findOnPath, kvpCacheDir, readCachedClasspath, runLogged } from '../../tools/apache-kafka/classpath.js'
import { tailOfFile } from '../../tools/apache-kafka/errors.js'
import { packageRoot } from './paths.js'
import { pomProperty } from './peer-output.js'

/** A cold resolution downloads ~15 MiB. */
const RESOLVE_TIMEOUT_MS = 5 * 60_000
const COMPILE_TIMEOUT_MS = 2 * 60_000

export interface PeerDefinition {
  /** Its folder under bench/peers/, and the system's name in the results. */
  name: string
  /** Shown in tables and headings. */
  title: string
  /** The Maven coordinates of the library it benchmarks, without the version. */
  artifact: string
  /** The pom property that holds the library's version. */
  versionProperty: string
  /** The jar whose presence in the classpath says it is the library's. */
  jarPrefix: string
  /** The main class, and its source file relative to the peer's folder. */
  mainClass: string
  source: string
}

export const PARALLEL_CONSUMER: PeerDefinition = {
  name: 'parallel-consumer',
  title: 'Parallel Consumer',
  artifact: 'io.confluent.parallelconsumer:parallel-consumer-core',
  versionProperty: 'parallel-consumer.version',
  jarPrefix: 'parallel-consumer-core-',
  mainClass: 'kvp.bench.Main',
  source: 'src/main/java/kvp/bench/Main.java',
}

/** A peer ready to start: `java` and the classpath of its compiled Main. */
export interface BuiltPeer {
  definition: PeerDefinition
  java: string
  classpath: string
  /** The library's version, from the pom. */
  version: string
  /** kafka-clients' version, from the pom. */
  kafkaClients: string | null
}

/** Why a peer cannot run here (a missing tool, a failed resolution or compile); the benchmark goes on without it. */
export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError'
}

const NEEDS: Readonly<Record<'java' | 'mvn' | 'javac', string>> = {
  java: 'the JVM peers run on a Java 17+ runtime (e.g. apt-get install openjdk-17-jdk-headless)',
  javac: 'the JVM peers are compiled on their first run (a JDK, e.g. apt-get install openjdk-17-jdk-headless)',
  mvn: "Maven resolves the JVM peers' jars on their first run (e.g. apt-get install maven)",
}

function need(command: 'java' | 'mvn' | 'javac', env: NodeJS.ProcessEnv): string {
  const found = findOnPath(command, env.PATH)
  if (found === undefined) throw new PeerUnavailableError(`\`${command}\` was not found on PATH: ${NEEDS[command]}`)
  return found
}

export interface BuildOptions {
  env?: NodeJS.ProcessEnv
  log?: (line: string) => void
}

/** The library's and kafka-clients' versions, from the peer's pom. */
export async function peerVersions(definition: PeerDefinition): Promise<{ version: string | null; kafkaClients: string | null }> {
  const pom = await readFile(join(packageRoot, 'bench', 'peers', definition.name, 'pom.xml'), 'utf8')
  return { version: pomProperty(pom, definition.versionProperty) ?? null, kafkaClients: pomProperty(pom, 'kafka-clients.version') ?? null }
}

/** Resolves and compiles a peer (from the cache when it can); throws a PeerUnavailableError saying why it cannot. */
export async function buildPeer(definition: PeerDefinition, options: BuildOptions = {}): Promise<BuiltPeer> {
  const env = options.env ?? process.env
  const log = options.log ?? (() => {})
  const sourceDir = join(packageRoot, 'bench', 'peers', definition.name)
  const pom = await readFile(join(sourceDir, 'pom.xml'), 'utf8')
  const source = await readFile(join(sourceDir, definition.source), 'utf8')
  const version = pomProperty(pom, definition.versionProperty)
  if (version === undefined) throw new PeerUnavailableError(`bench/peers/${definition.name}/pom.xml sets no <${definition.versionProperty}>`)
  const java = need('java', env)
  const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12)
  const cacheDir = kvpCacheDir(`bench-${definition.name}-${version}-${hash(pom)}`, env)
  const mavenLog = join(cacheDir, 'maven.log')
  const jar = `${definition.jarPrefix}${version}.jar`

  const classpathFile = join(cacheDir, 'classpath.txt')
  let jars = await readCachedClasspath(classpathFile, jar)
  if (jars === undefined) {
    const mvn = need('mvn', env)
    await mkdir(cacheDir, { recursive: true })
    await writeFile(join(cacheDir, 'pom.xml'), pom)
    const partial = `classpath.${process.pid}.txt.partial`
    log(`resolving ${definition.artifact}:${version} with Maven (log: ${mavenLog})`)
    const args = ['-q', '-B', '-Dstyle.color=never', 'dependency:build-classpath', '-Dmdep.includeScope=runtime', `-Dmdep.outputFile=${partial}`]
    const outcome = await runLogged(mvn, args, cacheDir, mavenLog, env, RESOLVE_TIMEOUT_MS)
    if (outcome !== 0) {
      await rm(join(cacheDir, partial), { force: true })
      const what = outcome === 'timeout' ? `did not finish within ${RESOLVE_TIMEOUT_MS / 1000} s` : `failed (${outcome})`
      throw new PeerUnavailableError(
        `Maven could not resolve ${definition.artifact}:${version}: \`mvn dependency:build-classpath\` ${what}; ` + `see ${mavenLog}, which ends with:\n${await tailOfFile(mavenLog, 8)}`,
      )
    }
    await rename(join(cacheDir, partial), classpathFile)
    jars = await readCachedClasspath(classpathFile, jar)
    if (jars === undefined) throw new PeerUnavailableError(`Maven wrote ${classpathFile}, but it does not list ${jar} or lists missing jars`)
  }

  const classes = join(cacheDir, `classes-${hash(source)}`)
  const mainClassFile = `${join(classes, ...definition.mainClass.split('.'))}.class`
  if (!existsSync(mainClassFile)) {
    const javac = need('javac', env)
    const sourceFile = join(cacheDir, 'Main.java')
    await writeFile(sourceFile, source)
    const building = `${classes}.${process.pid}.partial`
    await rm(building, { recursive: true, force: true })
    const javacLog = join(cacheDir, 'javac.log')
    log(`compiling bench/peers/${definition.name} (log: ${javacLog})`)
    const outcome = await runLogged(javac, ['-encoding', 'UTF-8', '-d', building, '-cp', jars.join(delimiter), sourceFile], cacheDir, javacLog, env, COMPILE_TIMEOUT_MS)
    if (outcome !== 0) {
      await rm(building, { recursive: true, force: true })
      throw new PeerUnavailableError(`javac could not compile bench/peers/${definition.name} (${outcome}); see ${javacLog}, which ends with:\n${await tailOfFile(javacLog, 8)}`)
    }
    await rm(classes, { recursive: true, force: true })
    await rename(building, classes)
  }
  return {
    definition,
    java,
    version,
    kafkaClients: pomProperty(pom, 'kafka-clients.version') ?? null,
    classpath: [classes, ...jars].join(delimiter),
  }
}

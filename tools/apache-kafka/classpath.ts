/**
 * Finds the broker's jars: Maven resolves kafka_2.13 and its runtime dependencies once and
 * writes their paths to classpath.txt in a cache folder; later starts read that file and
 * run no Maven at all (so they work offline) as long as every jar in it still exists.
 */
import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { pomXml } from './config-files.js'
import { findOnPath } from './find-on-path.js'
import { ApacheKafkaError, tailOfFile } from './errors.js'

/** A cold resolution downloads ~30 MiB; past this Maven is stopped and the start fails. */
const RESOLVE_TIMEOUT_MS = 5 * 60_000

export { findOnPath }

/** Like findOnPath, but a missing command is an error that says what it is needed for. */
export function requireOnPath(command: 'java' | 'mvn', pathVariable: string | undefined): string {
  const found = findOnPath(command, pathVariable)
  if (found !== undefined) return found
  const why =
    command === 'java'
      ? 'Apache Kafka runs on a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)'
      : 'Maven resolves the Apache Kafka jars on the first start (e.g. apt-get install maven)'
  throw new ApacheKafkaError(`\`${command}\` was not found on PATH: ${why}`)
}

/** `$XDG_CACHE_HOME/kvp/<name>`, else `~/.cache/kvp/<name>`: where kvp's tools keep what Maven resolved. */
export function kvpCacheDir(name: string, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'kvp', name)
}

/** `$XDG_CACHE_HOME/kvp/apache-kafka-<version>`, else `~/.cache/kvp/apache-kafka-<version>`. */
export function cacheDirFor(kafkaVersion: string, env: NodeJS.ProcessEnv): string {
  return kvpCacheDir(`apache-kafka-${kafkaVersion}`, env)
}

/** The broker's own jar, by which a cached classpath is known to be Kafka's. */
export const kafkaJar = (kafkaVersion: string): string => `kafka_2.13-${kafkaVersion}.jar`

/**
 * The jars of a cached classpath file, or undefined when it is absent, foreign (no jar
 * ending in `requiredJar`) or stale (a jar is gone).
 */
export async function readCachedClasspath(file: string, requiredJar: string): Promise<string[] | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  const jars = text
    .trim()
    .split(delimiter)
    .filter((entry) => entry !== '')
  if (!jars.some((jar) => jar.endsWith(requiredJar))) return undefined
  return jars.every((jar) => existsSync(jar)) ? jars : undefined
}

export interface ResolveOptions {
  kafkaVersion: string
  cacheDir: string
  env: NodeJS.ProcessEnv
  log: (line: string) => void
}

/** The broker's classpath (jar paths), from the cache or else from Maven. */
export async function resolveClasspath(options: ResolveOptions): Promise<string[]> {
  const classpathFile = join(options.cacheDir, 'classpath.txt')
  const cached = await readCachedClasspath(classpathFile, kafkaJar(options.kafkaVersion))
  if (cached) return cached

  const mvn = requireOnPath('mvn', options.env.PATH)
  await mkdir(options.cacheDir, { recursive: true })
  await writeFile(join(options.cacheDir, 'pom.xml'), pomXml(options.kafkaVersion))
  // Several processes may resolve at once: each writes its own file and renames it.
  const partial = `classpath.${process.pid}.txt.partial`
  const mavenLog = join(options.cacheDir, 'maven.log')
  options.log(`resolving Apache Kafka ${options.kafkaVersion} with Maven (log: ${mavenLog})`)
  const args = ['-q', '-B', '-Dstyle.color=never', 'dependency:build-classpath', '-Dmdep.includeScope=runtime', `-Dmdep.outputFile=${partial}`]
  const outcome = await runLogged(mvn, args, options.cacheDir, mavenLog, options.env, RESOLVE_TIMEOUT_MS)
  if (outcome !== 0) {
    await rm(join(options.cacheDir, partial), { force: true })
    const what = outcome === 'timeout' ? `did not finish within ${RESOLVE_TIMEOUT_MS / 1000} s` : `failed (${outcome})`
    throw new ApacheKafkaError(
      `Maven could not resolve org.apache.kafka:kafka_2.13:${options.kafkaVersion}: \`mvn dependency:build-classpath\` ${what}; ` + `see ${mavenLog}, which ends with:\n${await tailOfFile(mavenLog)}`,
    )
  }
  await rename(join(options.cacheDir, partial), classpathFile)
  const resolved = await readCachedClasspath(classpathFile, kafkaJar(options.kafkaVersion))
  if (!resolved) throw new ApacheKafkaError(`Maven wrote ${classpathFile}, but it does not list kafka_2.13-${options.kafkaVersion}.jar or lists missing jars`)
  return resolved
}

/** Runs a command with stdout and stderr appended to a log file: its exit code, a signal's name, or 'timeout'. */
export function runLogged(command: string, args: string[], cwd: string, logFile: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number | string> {
  const fd = openSync(logFile, 'a')
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] })
    closeSync(fd)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve('timeout')
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve(err.message)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? signal ?? 'unknown exit')
    })
  })
}

/**
 * A class-data sharing (AppCDS) archive of the broker's classes: the first broker JVM
 * writes one when it exits (`-XX:ArchiveClassesAtExit`), later JVMs map it
 * (`-XX:SharedArchiveFile`). Measured on 2 cores: the broker is ready in ~1.3 s instead of
 * ~2.9 s and uses half the CPU to get there. The archive is only valid for one JDK build
 * and one classpath, so its name carries a hash of both; a JVM that cannot use it warns
 * in the broker log and starts without it.
 */
import { createHash } from 'node:crypto'
import { realpathSync, statSync } from 'node:fs'
import { readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'

export interface ClassArchive {
  /** Flags for the next broker JVM: map the archive, or record one at exit if there is none yet. */
  jvmArgs(): string[]
  /** Flags for a short-lived JVM on the same classpath (the storage tool): map the archive if there is one. */
  sharedArchiveArgs(): string[]
  /** Call after that JVM exited: publishes a newly recorded archive. */
  jvmExited(exitCode: number | null): Promise<void>
}

/** A recording is only written while its JVM exits, so one this old was left by a killed process. */
const STALE_RECORDING_MS = 10 * 60_000

/** 143: java's status after the SIGTERM halt() sends; the archive is written during that exit. */
const CLEAN_EXITS: ReadonlySet<number | null> = new Set([0, 128 + 15])

export function classArchive(cacheDir: string, java: string, classpath: readonly string[]): ClassArchive {
  const javaFile = realpathSync(java)
  const { size, mtimeMs } = statSync(javaFile)
  const key = createHash('sha256')
    .update(`${javaFile}\n${size}\n${mtimeMs}\n${classpath.join('\n')}`)
    .digest('hex')
    .slice(0, 16)
  const archive = join(cacheDir, `broker-classes-${key}.jsa`)
  let recording: string | undefined
  let seq = 0
  const sharedArchiveArgs = (): string[] => {
    try {
      if (statSync(archive).size > 0) return [`-XX:SharedArchiveFile=${archive}`]
    } catch {
      // none yet
    }
    return []
  }
  return {
    sharedArchiveArgs,
    jvmArgs() {
      recording = undefined
      const shared = sharedArchiveArgs()
      if (shared.length > 0) return shared
      // Another process may record at the same time: each writes its own file and renames it.
      recording = `${archive}.${process.pid}-${seq++}.partial`
      return [`-XX:ArchiveClassesAtExit=${recording}`]
    },
    async jvmExited(exitCode) {
      const recorded = recording
      recording = undefined
      if (recorded === undefined) return
      const written = await stat(recorded).then(
        (info) => info.size > 0,
        () => false,
      )
      if (written && CLEAN_EXITS.has(exitCode)) await rename(recorded, archive)
      else await rm(recorded, { force: true })
    },
  }
}

/** Removes recordings that processes killed while their JVM exited left behind. */
export async function removeStaleRecordings(cacheDir: string, now = Date.now()): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [])
  for (const name of names) {
    if (!name.startsWith('broker-classes-') || !name.endsWith('.partial')) continue
    const file = join(cacheDir, name)
    const info = await stat(file).catch(() => undefined)
    if (info && now - info.mtimeMs > STALE_RECORDING_MS) await rm(file, { force: true })
  }
}

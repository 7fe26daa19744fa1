/**
 * zstd for the librdkafka inside node-rdkafka, from sources a registry package ships.
 *
 * librdkafka decompresses what it fetches with the codecs it was built with. node-rdkafka
 * builds it with whatever headers the machine has, and a machine without zstd's
 * (Debian's libzstd-dev) gets a librdkafka that cannot read a zstd topic: every fetch of
 * one fails with "Local: Not implemented" and nothing is consumed.
 *
 * So when node-rdkafka's build lacks zstd, kvp's postinstall:
 * 1. takes zstd's library sources from the npm package `zstd-napi` (pinned version and
 *    integrity; only its `deps/zstd/lib` folder is used, its own install script never runs);
 * 2. compiles them into a position-independent static `libzstd.a` under node-rdkafka's
 *    build folder;
 * 3. configures librdkafka again with that library on its include and link paths, so that
 *    librdkafka.so links zstd in. node-gyp's build then runs librdkafka's `make` again
 *    (its config.h changed) and relinks nothing else: the binding loads librdkafka.so.
 *
 * Where the machine has zstd's headers, node-rdkafka's own build has zstd already and
 * none of this runs. Either way the result is checked: `builtin.features` must list zstd.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'

/** The registry package whose tarball carries zstd's sources (zstd 1.5.6), and its integrity. */
export const ZSTD_SOURCE_PACKAGE = 'zstd-napi@0.0.13'
export const ZSTD_SOURCE_INTEGRITY = 'sha512-ErGF+Ko1PsbooU6oC/sc/diiWKwVa0kd/5AkFSs7kg5kwcEuOtSzOy3xUOadXQlAVNab9TxsxaUk3hOq3cj/lA=='

/** librdkafka's configure wrote `#define WITH_ZSTD 1` into config.h: the build links zstd. */
export function configuredWithZstd(configHeader) {
  return /^#define WITH_ZSTD 1$/m.test(configHeader)
}

/** The C and assembly files of zstd's library that librdkafka needs (compression and decompression). */
export function zstdSources(libDir) {
  const files = []
  for (const folder of ['common', 'compress', 'decompress']) {
    for (const name of readdirSync(join(libDir, folder)).sort()) {
      if (name.endsWith('.c') || name.endsWith('.S')) files.push(join(libDir, folder, name))
    }
  }
  return files
}

/** Compiler arguments for one zstd source file, position-independent so it can go into librdkafka.so. */
export function compileArgs(source, object) {
  return ['-c', '-O3', '-fPIC', '-fvisibility=hidden', '-DXXH_NAMESPACE=ZSTD_', '-DZSTD_LEGACY_SUPPORT=0', '-o', object, source]
}

/**
 * The environment under which librdkafka's configure finds the zstd built here. node-gyp
 * gets it too: a `node-gyp rebuild` runs the configure again.
 */
export function zstdBuildEnv(zstdRoot, env = process.env) {
  return {
    ...env,
    CPPFLAGS: `-I${join(zstdRoot, 'lib')} ${env.CPPFLAGS ?? ''}`.trim(),
    LDFLAGS: `-L${zstdRoot} ${env.LDFLAGS ?? ''}`.trim(),
  }
}

/**
 * Makes node-rdkafka's librdkafka build with zstd if it does not already. `packageRoot` is
 * node-rdkafka's folder. Returns the environment node-gyp must build under.
 */
export async function ensureZstd(packageRoot, log) {
  const librdkafka = join(packageRoot, 'deps', 'librdkafka')
  const configPath = join(librdkafka, 'config.h')
  // Beside librdkafka, not under build/: `node-gyp rebuild` empties build/.
  const zstdRoot = join(packageRoot, 'deps', 'kvp-zstd')
  const built = existsSync(join(zstdRoot, 'libzstd.a'))
  if (existsSync(configPath) && configuredWithZstd(readFileSync(configPath, 'utf8'))) return built ? zstdBuildEnv(zstdRoot) : process.env

  const started = Date.now()
  const libDir = join(zstdRoot, 'lib')
  if (!built) {
    log(`librdkafka was built without zstd (no zstd headers on this machine): building zstd from ${ZSTD_SOURCE_PACKAGE}'s sources`)
    fetchSources(zstdRoot)
    await buildStaticLibrary(libDir, zstdRoot)
  }
  // node-rdkafka's util/configure.js runs librdkafka's configure with these two options; the
  // flags put the library just built first on the include and link paths. Only libzstd.a is
  // in that folder, so -lzstd links it statically into librdkafka.so.
  const prefix = join(packageRoot, 'build', 'deps')
  const env = zstdBuildEnv(zstdRoot)
  const configured = spawnSync('./configure', [`--prefix=${prefix}`, `--libdir=${prefix}`, '--enable-zstd'], { cwd: librdkafka, env, encoding: 'utf8' })
  if (configured.status !== 0) {
    throw new Error(`librdkafka's configure with zstd failed (exit ${configured.status ?? configured.signal}):\n${tail(configured.stdout)}\n${tail(configured.stderr)}`)
  }
  if (!configuredWithZstd(readFileSync(configPath, 'utf8'))) throw new Error(`librdkafka's configure did not enable zstd with ${libDir}:\n${tail(configured.stdout)}`)
  log(`zstd built and librdkafka configured with it in ${((Date.now() - started) / 1000).toFixed(1)} s; node-gyp now rebuilds librdkafka`)
  return env
}

/** `npm pack` the pinned package (through the npm running this install), check its integrity, unpack zstd's lib folder. */
function fetchSources(zstdRoot) {
  const scratch = mkdtempSync(join(tmpdir(), 'kvp-zstd-'))
  try {
    const npmCli = process.env.npm_execpath
    const packed = npmCli
      ? spawnSync(process.execPath, [npmCli, 'pack', ZSTD_SOURCE_PACKAGE, '--pack-destination', scratch, '--json', '--ignore-scripts'], { encoding: 'utf8' })
      : spawnSync('npm', ['pack', ZSTD_SOURCE_PACKAGE, '--pack-destination', scratch, '--json', '--ignore-scripts'], { encoding: 'utf8' })
    if (packed.status !== 0) throw new Error(`npm pack ${ZSTD_SOURCE_PACKAGE} failed (exit ${packed.status ?? packed.signal}): ${tail(packed.stderr)}`)
    const [entry] = JSON.parse(packed.stdout)
    const tarball = join(scratch, entry.filename)
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
    if (integrity !== ZSTD_SOURCE_INTEGRITY) throw new Error(`${ZSTD_SOURCE_PACKAGE} has integrity ${integrity}, expected ${ZSTD_SOURCE_INTEGRITY}`)
    rmSync(zstdRoot, { recursive: true, force: true })
    mkdirSync(zstdRoot, { recursive: true })
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', zstdRoot, '--strip-components=3', 'package/deps/zstd/lib', 'package/deps/zstd/COPYING', 'package/deps/zstd/LICENSE'], { encoding: 'utf8' })
    if (untar.status !== 0) throw new Error(`could not unpack zstd's sources from ${tarball}: ${tail(untar.stderr)}`)
    // --strip-components=3 turns package/deps/zstd/lib/x into lib/x (and drops the licence files' folder).
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** Compiles every source on all cores, then archives the objects into libzstd.a. */
async function buildStaticLibrary(libDir, outDir) {
  const cc = process.env.CC || 'cc'
  const objects = join(outDir, 'obj')
  mkdirSync(objects, { recursive: true })
  const jobs = zstdSources(libDir).map((source, i) => ({ source, object: join(objects, `${i}-${source.split('/').pop()}.o`) }))
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      await run(cc, compileArgs(job.source, job.object))
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker))
  const ar = spawnSync(process.env.AR || 'ar', ['rcs', join(outDir, 'libzstd.a'), ...jobs.map((job) => job.object)], { encoding: 'utf8' })
  if (ar.status !== 0) throw new Error(`ar could not archive libzstd.a: ${tail(ar.stderr)}`)
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', (err) => reject(new Error(`could not run ${command}: ${err.message}`)))
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${tail(stderr)}`))))
  })
}

function tail(text) {
  return String(text ?? '')
    .split('\n')
    .slice(-20)
    .join('\n')
}

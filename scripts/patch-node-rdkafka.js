#!/usr/bin/env node
/**
 * kvp's postinstall: patches node-rdkafka (patches/node-rdkafka+<version>.patch), makes sure
 * its librdkafka has every codec, then rebuilds only what changed.
 *
 * The patch, each part written so that it could be offered upstream:
 * - the producer sends Buffer header values byte for byte. node-rdkafka 3.6.1 turns every
 *   header value into a JS string and then a C string, so a value stopped at its first NUL
 *   byte and non-UTF-8 bytes were replaced: dead letters lost their original binary
 *   headers. The binding exports `producerBinaryHeaders: true`, which kvp checks at run
 *   time (`producerKeepsBinaryHeaders()`);
 * - a consume error keeps librdkafka's own text and says where it happened (`topic`,
 *   `partition`, `offset` on the error), so that a batch that cannot be decompressed or a
 *   subscribed topic that is missing or not authorized can be named.
 * - topic partition lists carry commit metadata (`metadata`, a string) both ways: commit,
 *   commitSync, offsetsStore and sendOffsetsToTransaction send it, committed() returns it.
 *   node-rdkafka 3.6.1 dropped it in src/common.cc, so kvp could not keep the offsets done
 *   above the committed one (docs/architecture.md, "offset map"). The binding exports
 *   `topicPartitionMetadata: true`.
 *
 * zstd: see ./librdkafka-zstd.js. The build must list gzip, snappy, lz4, zstd, ssl and the
 * SASL mechanisms in `builtin.features`, or this script fails.
 *
 * - Finds node-rdkafka the way kvp's own code does (Node's resolution from this package),
 *   so it works in kvp's checkout and when kvp is installed as a dependency, hoisted or not.
 * - Idempotent: a patch that is already applied is left as it is; the build is incremental.
 * - Fails loudly (exit 1) when node-rdkafka is another version or the patch does not apply.
 * - Runs `node-gyp build` in node-rdkafka's folder. npm runs every package's `install`
 *   script before any `postinstall`, so node-rdkafka's own `node-gyp rebuild` has left its
 *   build/ folder there: only the patched files are compiled again and the binding relinked
 *   (seconds); librdkafka is rebuilt only when zstd had to be added (about two minutes).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyPatch, parsePatch, reversePatch } from 'diff'
import { ensureZstd } from './librdkafka-zstd.js'

const PACKAGE = 'node-rdkafka'
const here = dirname(fileURLToPath(import.meta.url))
const patchesDir = resolve(here, '..', 'patches')

function fail(message) {
  console.error(`kvp: ${message}`)
  process.exit(1)
}

function log(message) {
  console.log(`kvp: ${message}`)
}

const require = createRequire(import.meta.url)
let packageJsonPath
try {
  packageJsonPath = require.resolve(`${PACKAGE}/package.json`)
} catch (err) {
  fail(`cannot find ${PACKAGE} from ${here}: ${err.message}`)
}
const packageRoot = dirname(packageJsonPath)
const version = String(JSON.parse(readFileSync(packageJsonPath, 'utf8')).version).replace(/^v/, '')
const patchFile = join(patchesDir, `${PACKAGE}+${version}.patch`)
if (!existsSync(patchFile)) {
  fail(
    `${PACKAGE} ${version} is installed (${packageRoot}), but ${patchesDir} has no patch for it. ` +
      `kvp needs its producer to send binary header values intact: pin ${PACKAGE} to the version patched there, ` +
      'or port the patch to this version (see CHANGELOG.md, "binary header values").',
  )
}

// Apply each file's part of the patch, unless it is applied already.
for (const part of parsePatch(readFileSync(patchFile, 'utf8'))) {
  const relative = String(part.oldFileName).replace(/^a\//, '')
  const target = join(packageRoot, relative)
  if (!existsSync(target)) fail(`${patchFile} patches ${relative}, which ${PACKAGE} ${version} does not have (${target})`)
  const source = readFileSync(target, 'utf8')
  if (applyPatch(source, reversePatch(part)) !== false) {
    log(`${PACKAGE}/${relative} is already patched`)
    continue
  }
  const patched = applyPatch(source, part)
  if (patched === false) {
    fail(`${patchFile} does not apply to ${target}: the file differs from ${PACKAGE} ${version} as published. ` + `Reinstall ${PACKAGE} (rm -rf its folder, then npm ci) or update the patch.`)
  }
  // A new file renamed over the old one: a package manager that hard-links files from a
  // shared store (pnpm) keeps its copy unpatched.
  writeFileSync(`${target}.kvp-patched`, patched)
  renameSync(`${target}.kvp-patched`, target)
  log(`patched ${PACKAGE}/${relative}`)
}

// Every codec: where the machine has no zstd headers, build zstd from sources and configure
// librdkafka with it (./librdkafka-zstd.js); the node-gyp build below then rebuilds librdkafka.
let buildEnv
try {
  buildEnv = await ensureZstd(packageRoot, log)
} catch (err) {
  fail(`could not give librdkafka zstd: ${err.message}`)
}

// Rebuild the binding. npm gives lifecycle scripts its own node-gyp (npm_config_node_gyp,
// and a `node-gyp` shim on PATH); other package managers put one on PATH.
const hasBuild = existsSync(join(packageRoot, 'build', 'config.gypi'))
const command = hasBuild ? 'build' : 'rebuild'
const nodeGyp = process.env.npm_config_node_gyp
const started = Date.now()
const result = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, command], { cwd: packageRoot, stdio: 'inherit', env: buildEnv })
  : spawnSync('node-gyp', [command], { cwd: packageRoot, stdio: 'inherit', env: buildEnv, shell: process.platform === 'win32' })
if (result.error) fail(`could not run node-gyp ${command} in ${packageRoot} (${result.error.message}); run this script through npm: npm rebuild kvp`)
if (result.status !== 0) fail(`node-gyp ${command} in ${packageRoot} failed (exit ${result.status ?? result.signal})`)
log(`node-gyp ${command} of ${PACKAGE} took ${((Date.now() - started) / 1000).toFixed(1)} s`)

// Load the rebuilt binding in a fresh process and check for the patch's marker.
const check = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(join(packageRoot, 'librdkafka.js'))}).producerBinaryHeaders === true ? 0 : 3)`], { stdio: 'inherit' })
if (check.status !== 0) fail(`the rebuilt ${PACKAGE} binding does not report producerBinaryHeaders (exit ${check.status ?? check.signal})`)
log(`${PACKAGE}'s producer sends binary header values intact`)
const metadataCheck = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(join(packageRoot, 'librdkafka.js'))}).topicPartitionMetadata === true ? 0 : 3)`], { stdio: 'inherit' })
if (metadataCheck.status !== 0) fail(`the rebuilt ${PACKAGE} binding does not report topicPartitionMetadata (exit ${metadataCheck.status ?? metadataCheck.signal})`)
log(`${PACKAGE}'s topic partition lists carry commit metadata`)

// And every codec kvp promises is in the build.
const REQUIRED_FEATURES = ['gzip', 'snappy', 'lz4', 'zstd', 'ssl', 'sasl_plain', 'sasl_scram', 'sasl_oauthbearer']
const features = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(join(packageRoot, 'lib', 'index.js'))}).features.join(','))`], { encoding: 'utf8' })
if (features.status !== 0) fail(`could not read librdkafka's builtin.features (exit ${features.status ?? features.signal}): ${features.stderr}`)
const missing = REQUIRED_FEATURES.filter((feature) => !features.stdout.split(',').includes(feature))
if (missing.length > 0) fail(`librdkafka was built without ${missing.join(', ')} (builtin.features: ${features.stdout}); see docs/installing.md`)
log(`librdkafka's builtin.features: ${features.stdout}`)

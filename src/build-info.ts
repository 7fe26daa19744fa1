import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Kafka from 'node-rdkafka'

/** What this installation of kvp runs on: its version, node-rdkafka's, librdkafka's and what librdkafka was built with. */
export interface BuildInfo {
  kvp: string
  nodeRdkafka: string
  librdkafka: string
  /** librdkafka's `builtin.features`: codecs (gzip, snappy, lz4, zstd), ssl, the SASL mechanisms. */
  features: string[]
}

/** The compression codecs every kvp build has (the postinstall fails without one). */
export const REQUIRED_CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const

export function buildInfo(): BuildInfo {
  return { kvp: packageVersion(), nodeRdkafka: nodeRdkafkaVersion(), librdkafka: Kafka.librdkafkaVersion, features: [...Kafka.features] }
}

/** `kvp --version`: one line each. */
export function describeBuild(info: BuildInfo = buildInfo()): string {
  return `kvp ${info.kvp}\nnode-rdkafka ${info.nodeRdkafka}\nlibrdkafka ${info.librdkafka}\nbuiltin.features ${info.features.join(',')}\n`
}

/** kvp's version, from the package.json above this file (in src/ or in dist/src/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown }
        if (pkg.name === 'kvp' && typeof pkg.version === 'string') return pkg.version
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir)
  }
  return '0.0.0'
}

function nodeRdkafkaVersion(): string {
  const require = createRequire(import.meta.url)
  const pkg = require('node-rdkafka/package.json') as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version.replace(/^v/, '') : 'unknown'
}

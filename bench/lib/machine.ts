/** The machine a run happened on, recorded with its results. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { arch, cpus as cpuList, loadavg, platform, release, totalmem } from 'node:os'
import Kafka from 'node-rdkafka'
import { packageRoot } from './paths.js'

export interface MachineInfo {
  cpus: number
  cpuModel: string
  totalMemoryGiB: number
  platform: string
  release: string
  arch: string
  node: string
  librdkafka: string
  nodeRdkafka: string
  kafkajs: string
  kvp: string
  /** One-minute load average when the run started: other work on the machine skews results. */
  loadAverage: number
}

export function machineInfo(): MachineInfo {
  const cpus = cpuList()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: platform(),
    release: release(),
    arch: arch(),
    node: process.version,
    librdkafka: Kafka.librdkafkaVersion,
    nodeRdkafka: packageVersion('node_modules/node-rdkafka'),
    kafkajs: packageVersion('node_modules/kafkajs'),
    kvp: packageVersion('.'),
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  }
}

function packageVersion(dir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(packageRoot, dir, 'package.json'), 'utf8')) as { version?: string }
    return manifest.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

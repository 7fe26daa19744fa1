/**
 * `kvp lag`: a group's committed offsets, high watermarks and lag per partition, read
 * without joining the group (its members are not disturbed), like
 * `kafka-consumer-groups --describe --group G`.
 */
import type { Command } from 'commander'
import type { KafkaSettings } from '../config/options.js'
import { UnknownTopicError } from '../errors.js'
import { readGroupLag, type PartitionLag } from '../kafka/group-lag.js'
import type { CliContext } from './context.js'
import { flagParser, kafkaSettingFlag, parsePositiveInt, settingsWithEnv, usageError } from './parse.js'

interface LagOptions {
  brokers: string
  group: string
  topic?: string[]
  json?: boolean
  timeoutMs: number
  kafkaSetting?: KafkaSettings
}

export function addLagCommand(program: Command, context: CliContext): Command {
  return program
    .command('lag')
    .summary("print a group's committed offsets, high watermarks and lag, without joining it")
    .description(
      "Print a consumer group's committed offset, the high watermark (log end) and the lag per partition, " +
        'without joining the group. Without --topic: every topic the group has committed offsets for. ' +
        'A partition with no committed offset counts its lag from the log start.',
    )
    .requiredOption('--brokers <list>', "bootstrap servers 'host:port,...'")
    .requiredOption('--group <id>', 'consumer group id')
    .option('--topic <name>', 'only this topic (repeatable)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--json', 'print JSON instead of a table')
    .option('--timeout-ms <ms>', 'how long each request may take', flagParser('--timeout-ms', parsePositiveInt), 10_000)
    .option('-X, --kafka-setting <key=value>', 'librdkafka setting, repeatable (security settings, for example)', kafkaSettingFlag)
    .action(async (options: LagOptions) => {
      if (options.brokers === 'mock') throw usageError('--brokers', "'mock' would start an empty cluster; pass the address of the cluster the group uses")
      if (options.group.trim() === '') throw usageError('--group', 'expected a consumer group id, got an empty string')
      const rows = await readGroupLag({
        bootstrapServers: options.brokers,
        groupId: options.group,
        timeoutMs: options.timeoutMs,
        ...(options.topic ? { topics: options.topic } : {}),
        ...withKafka(settingsWithEnv(context.env, options.kafkaSetting, 'consumer')),
      }).catch((error: unknown) => {
        // Only --topic names topics: one the cluster lacks is a mistake on the command line.
        throw error instanceof UnknownTopicError ? usageError('--topic', error.message, error) : error
      })
      const total = rows.reduce((sum, row) => sum + row.lag, 0)
      if (options.json) {
        context.stdout.write(`${JSON.stringify({ group: options.group, partitions: rows, totalLag: total }, null, 2)}\n`)
      } else {
        context.stdout.write(lagTable(options.group, rows, total))
      }
      context.exitCode = 0
    })
}

/** The rows as a plain-text table, columns as kafka-consumer-groups names them. */
export function lagTable(group: string, rows: PartitionLag[], total: number): string {
  if (rows.length === 0) return `group ${group}: no committed offsets (and no --topic given)\n`
  const header = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG']
  const body = rows.map((r) => [group, r.topic, String(r.partition), r.committed === null ? '-' : String(r.committed), String(r.highWatermark), String(r.lag)])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] as string).length)))
  const line = (cells: string[]): string => cells.map((cell, i) => (i >= 2 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ')
  return `${[line(header), ...body.map(line)].join('\n')}\ntotal lag ${total}\n`
}

function withKafka(kafka: KafkaSettings | undefined): { kafka?: KafkaSettings } {
  return kafka === undefined ? {} : { kafka }
}

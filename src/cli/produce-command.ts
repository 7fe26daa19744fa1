/**
 * `kvp produce`: write a numbered, keyed test stream (`key-<i % keys>`) and wait for
 * every delivery report. Exits 1 if any message was not delivered.
 */
import { performance } from 'node:perf_hooks'
import type { Command } from 'commander'
import { produceMessages, type ProduceMessagesOptions } from '../kafka/produce.js'
import type { CliContext } from './context.js'
import type { KafkaSettings } from '../config/options.js'
import { flagParser, kafkaSettingFlag, parseNonNegativeInt, parsePositiveInt, settingsWithEnv, usageError } from './parse.js'

interface ProduceOptions {
  brokers: string
  topic: string
  count: number
  keys: number
  size: number
  partition?: number
  json?: boolean
  kafkaSetting?: KafkaSettings
}

export function addProduceCommand(program: Command, context: CliContext): Command {
  return program
    .command('produce')
    .summary('write N keyed test messages to a topic')
    .description(
      'Write N test messages to a topic and wait until every one is acknowledged. ' +
        'Message i has key key-<i % keys> and a value of --size bytes (with --json, an object ' +
        '{"id":i,"key":"key-…","pad":"…"} of about that size).',
    )
    .requiredOption('--brokers <list>', "bootstrap servers 'host:port,...' (e.g. the BOOTSTRAP of kvp mock-cluster)")
    .requiredOption('--topic <name>', 'topic to write to')
    .requiredOption('--count <n>', 'messages to write', flagParser('--count', parsePositiveInt))
    .option('--keys <k>', 'distinct keys', flagParser('--keys', parsePositiveInt), 1000)
    .option('--size <bytes>', 'value size in bytes', flagParser('--size', parseNonNegativeInt), 100)
    .option('--partition <p>', "a fixed partition (default: librdkafka's partitioner, by key)", flagParser('--partition', parseNonNegativeInt))
    .option('--json', 'JSON object values instead of raw bytes')
    .option('-X, --kafka-setting <key=value>', 'librdkafka producer setting, repeatable', kafkaSettingFlag)
    .action(async (options: ProduceOptions) => {
      if (options.brokers === 'mock') {
        throw usageError('--brokers', "'mock' would start a cluster that ends with this command; start one with kvp mock-cluster and pass its BOOTSTRAP address")
      }
      const request: ProduceMessagesOptions = {
        bootstrapServers: options.brokers,
        topic: options.topic,
        count: options.count,
        keys: options.keys,
        size: options.size,
        json: options.json === true,
      }
      if (options.partition !== undefined) request.partition = options.partition
      const kafka = settingsWithEnv(context.env, options.kafkaSetting, 'producer')
      if (kafka !== undefined) request.kafka = kafka
      const started = performance.now()
      const { produced } = await produceMessages(request)
      const ms = Math.round(performance.now() - started)
      context.stdout.write(`produced ${produced} messages to ${options.topic} in ${ms} ms\n`)
      context.exitCode = 0
    })
}

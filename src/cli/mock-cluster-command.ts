/**
 * `kvp mock-cluster`: librdkafka's embedded Kafka cluster as a standalone process, for
 * trying kvp without a real cluster. Prints `BOOTSTRAP=host:port,...` on its own line on
 * stdout, serves until SIGTERM/SIGINT, then stops and exits 0.
 */
import type { Command } from 'commander'
import { MAX_MOCK_BROKERS } from '../config/schema.js'
import { startMockCluster } from '../kafka/mock-cluster.js'
import type { CliContext } from './context.js'
import { flagParser, parsePositiveInt, usageError } from './parse.js'

function parseBrokerCount(text: string, flag: string): number {
  const brokers = parsePositiveInt(text, flag)
  if (brokers > MAX_MOCK_BROKERS) throw usageError(flag, `expected at most ${MAX_MOCK_BROKERS} brokers, got ${brokers}`)
  return brokers
}

interface MockClusterOptions {
  brokers: number
}

export function addMockClusterCommand(program: Command, context: CliContext): Command {
  return program
    .command('mock-cluster')
    .summary('serve an embedded Kafka cluster until SIGTERM/SIGINT')
    .description(
      "Serve librdkafka's embedded Kafka cluster on 127.0.0.1 until SIGTERM/SIGINT. " +
        'Prints BOOTSTRAP=host:port,... on stdout once it is up. Topics are created on first ' +
        'use with 4 partitions; each partition keeps at most 5 MiB or 100,000 messages.',
    )
    .option('--brokers <n>', `brokers in the cluster (1..${MAX_MOCK_BROKERS})`, flagParser('--brokers', parseBrokerCount), 1)
    .action(async (options: MockClusterOptions) => {
      const stopRequested = context.waitForStop()
      const cluster = await startMockCluster({ brokers: options.brokers })
      context.stdout.write(`BOOTSTRAP=${cluster.bootstrapServers}\n`)
      context.stderr.write(`kvp: embedded Kafka cluster with ${options.brokers} broker${options.brokers === 1 ? '' : 's'} at ${cluster.bootstrapServers}; stop with SIGTERM or Ctrl-C\n`)
      const signal = await stopRequested
      context.stderr.write(`kvp: ${signal === 'abort' ? 'stop requested' : signal}: stopping the cluster\n`)
      await cluster.stop()
      context.exitCode = 0
    })
}

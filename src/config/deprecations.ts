/**
 * Options kept under a former name. Each warns once per process, as a DeprecationWarning
 * with its own code (so `node --no-deprecation` silences it and `--throw-deprecation`
 * turns it into an error).
 */

let warnedMaxPartitions = false

/**
 * `virtualPartitions.maxPartitions` is the former name of `virtualPartitions.lanes`. A caller
 * with names of its own for the two (the command line's flags) passes them; the warning is
 * given once, whichever name was met first.
 */
export function warnMaxPartitions(used = 'virtualPartitions.maxPartitions', instead = 'virtualPartitions.lanes'): void {
  if (warnedMaxPartitions) return
  warnedMaxPartitions = true
  process.emitWarning(`${used} is deprecated: use ${instead}, the same number of lanes per Kafka partition`, { type: 'DeprecationWarning', code: 'KVP_DEP_MAX_PARTITIONS' })
}

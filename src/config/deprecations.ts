/**
 * Options kept under a former name. Each warns once per process, as a DeprecationWarning
 * with its own code (so `node --no-deprecation` silences it and `--throw-deprecation`
 * turns it into an error).
 */

let warnedMaxPartitions = false

/** `virtualPartitions.maxPartitions` and `--max-partitions` are the former names of `lanes` and `--lanes`. */
export function warnMaxPartitions(): void {
  if (warnedMaxPartitions) return
  warnedMaxPartitions = true
  process.emitWarning('virtualPartitions.maxPartitions (kvp run --max-partitions) is deprecated: use virtualPartitions.lanes (--lanes), the same number of lanes per Kafka partition', {
    type: 'DeprecationWarning',
    code: 'KVP_DEP_MAX_PARTITIONS',
  })
}

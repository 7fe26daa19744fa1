import { loadProtobufType, protobufToObject } from '../codec/payload-codec.js'
import type { ResolvedRoute } from '../config/resolve.js'
import { createDistributor } from './distributor.js'
import type { Distributor } from './distributor.js'
import { createKeyExtractor } from './partitioner.js'
import type { ExtractorContext, KeyExtractor } from './partitioner.js'

/** How one route's partitions split their messages into lanes: one key extractor, a distributor per partition. */
export interface RoutePartitioning {
  readonly route: ResolvedRoute
  readonly extract: KeyExtractor
  /** A fresh distributor for one assignment of one partition (balanced keeps per-batch scratch state). Never throws. */
  newDistributor(): Distributor
}

/**
 * Builds a route's partitioning once, at start. Every choice is checked here, so that a
 * wrong one fails the start with a ConfigError naming its option: the partitioner, the
 * protobuf type it may read keys with, and the distribution with its lane count (the first
 * distributor is built now and handed to the first partition; later ones repeat arguments
 * already accepted).
 */
export function routePartitioning(route: ResolvedRoute): RoutePartitioning {
  const field = `topics[${route.index}].virtualPartitions`
  let context: ExtractorContext = {}
  const payload = route.payload
  if (typeof payload === 'object') {
    const type = loadProtobufType(payload.protobuf, payload.type, `topics[${route.index}].payload`)
    context = { decodeProtobuf: (value: Buffer) => protobufToObject(type, value) }
  }
  const extract = createKeyExtractor(route.partitioner, `${field}.partitioner`, context)
  const kind = route.split ? route.distribution : 'consistent'
  let checked: Distributor | undefined = createDistributor(kind, route.lanes, `${field}.distribution`)
  return {
    route,
    extract,
    newDistributor(): Distributor {
      const distributor = checked ?? createDistributor(kind, route.lanes, `${field}.distribution`)
      checked = undefined
      return distributor
    },
  }
}

import type { Distribution } from '../config/options.js'
import { MAX_LANES } from '../config/schema.js'
import { ConfigError, InternalError } from '../errors.js'
import { BalancedDistributor } from './balanced.js'
import { ConsistentDistributor } from './consistent.js'
import { StickyDistributor } from './sticky.js'
import type { Distributor } from './distributor-types.js'

export type { Distributor, LaneProgress } from './distributor-types.js'

export { MAX_LANES }

/** The distributor `kind` over `lanes` lanes; `field` names the option in a configuration error. */
export function createDistributor(kind: Distribution, lanes: number, field = 'virtualPartitions.distribution'): Distributor {
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_LANES) {
    throw new InternalError(`lanes must be an integer 1..${MAX_LANES}, got ${lanes}`)
  }
  switch (kind) {
    case 'consistent':
      return new ConsistentDistributor(lanes)
    case 'balanced':
      return new BalancedDistributor(lanes)
    case 'sticky':
      return new StickyDistributor(lanes)
    default:
      throw new ConfigError(field, `expected 'consistent', 'balanced' or 'sticky', got ${JSON.stringify(kind as unknown) ?? String(kind)}`)
  }
}

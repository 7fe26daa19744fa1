import { after, before } from 'node:test'
import { startMockCluster } from '../../src/index.js'
import type { MockCluster } from '../../src/index.js'

/** One embedded cluster for a test file: started before its tests, stopped after them. */
export function useCluster(): { readonly bootstrapServers: string } {
  let cluster: MockCluster | undefined
  before(async () => {
    cluster = await startMockCluster()
  })
  after(async () => {
    await cluster?.stop()
  })
  return {
    get bootstrapServers(): string {
      if (!cluster) throw new Error('the embedded cluster is not started yet (use it inside a test)')
      return cluster.bootstrapServers
    },
  }
}

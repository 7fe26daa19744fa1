/**
 * ACLs for tests against the Apache Kafka tier's secured listeners. node-rdkafka's admin
 * client has no ACL API, so KafkaJS does it, over the open PLAINTEXT listener (its
 * principal, ANONYMOUS, is a super user). StandardAuthorizer applies ACLs from the metadata
 * log, after CreateAcls has returned: grantAcls() and deleteAcls() wait until the broker
 * describes the new state.
 */
import kafkajs, { Kafka as KafkaJs, logLevel, type AclEntry, type AclFilter, type Admin } from 'kafkajs'
import { uniqueName, waitFor } from './kafka.js'

// Node's CommonJS export detection gives up part way through kafkajs's `module.exports`
// object: under ESM these four are properties of the module object, not named exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs

export type AclResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER'
export type AclOperation = 'ALL' | 'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'ALTER' | 'DESCRIBE' | 'CLUSTER_ACTION' | 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS' | 'IDEMPOTENT_WRITE'

export interface AclSpec {
  /** `User:app`, `User:CN=mtls-client`, ... */
  principal: string
  resourceType: AclResourceType
  /** The topic, group or transactional id (or its prefix); ignored for CLUSTER, whose one name is `kafka-cluster`. */
  name: string
  /** Default LITERAL. */
  patternType?: 'LITERAL' | 'PREFIXED'
  operation: AclOperation
  /** Default ALLOW. */
  permission?: 'ALLOW' | 'DENY'
  /** Default `*`. */
  host?: string
}

/** How long grantAcls() and deleteAcls() wait for the broker to show the change. */
const APPLIED_TIMEOUT_MS = 15_000

/** The entry KafkaJS sends for an ACL. */
export function aclEntry(spec: AclSpec): AclEntry {
  return {
    principal: spec.principal,
    host: spec.host ?? '*',
    resourceType: AclResourceTypes[spec.resourceType],
    resourceName: spec.resourceType === 'CLUSTER' ? 'kafka-cluster' : spec.name,
    resourcePatternType: ResourcePatternTypes[spec.patternType ?? 'LITERAL'],
    operation: AclOperationTypes[spec.operation],
    permissionType: AclPermissionTypes[spec.permission ?? 'ALLOW'],
  }
}

/** A filter that matches exactly this ACL. */
function exactFilter(entry: AclEntry): AclFilter {
  return { ...entry }
}

async function withAdmin<T>(plaintextBootstrap: string, use: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = new KafkaJs({ clientId: uniqueName('kvp-test-acls'), brokers: plaintextBootstrap.split(','), logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await use(admin)
  } finally {
    await admin.disconnect()
  }
}

async function isDescribed(admin: Admin, entry: AclEntry): Promise<boolean> {
  const response = await admin.describeAcls(exactFilter(entry))
  return response.resources.some((resource) => resource.acls.length > 0)
}

/** Creates the ACLs over the PLAINTEXT listener and resolves once the broker enforces them. */
export async function grantAcls(plaintextBootstrap: string, acls: readonly AclSpec[]): Promise<void> {
  if (acls.length === 0) return
  const entries = acls.map(aclEntry)
  await withAdmin(plaintextBootstrap, async (admin) => {
    await admin.createAcls({ acl: entries })
    for (const entry of entries) {
      await waitFor(`the ACL ${describeAcl(entry)} to be in effect`, () => isDescribed(admin, entry), APPLIED_TIMEOUT_MS, 100)
    }
  })
}

/** Deletes the ACLs (those that exist) and resolves once the broker no longer shows them. */
export async function deleteAcls(plaintextBootstrap: string, acls: readonly AclSpec[]): Promise<void> {
  if (acls.length === 0) return
  const entries = acls.map(aclEntry)
  await withAdmin(plaintextBootstrap, async (admin) => {
    await admin.deleteAcls({ filters: entries.map(exactFilter) })
    for (const entry of entries) {
      await waitFor(`the ACL ${describeAcl(entry)} to be gone`, async () => !(await isDescribed(admin, entry)), APPLIED_TIMEOUT_MS, 100)
    }
  })
}

function describeAcl(entry: AclEntry): string {
  const name = (table: Record<string, string | number>, value: number): string => String(Object.keys(table).find((key) => table[key] === value) ?? value)
  return `${name(AclPermissionTypes, entry.permissionType)} ${entry.principal} ${name(AclOperationTypes, entry.operation)} on ${name(AclResourceTypes, entry.resourceType)} ${entry.resourceName} (${name(ResourcePatternTypes, entry.resourcePatternType)})`
}

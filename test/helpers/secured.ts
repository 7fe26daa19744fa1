/**
 * Clients and ACLs on the Apache Kafka tier's SASL_SSL listener (tools/apache-kafka/security.ts):
 * librdkafka settings for one of its users, and the ACLs a consumer or a writer needs,
 * granted for the length of one test.
 */
import { strict as assert } from 'node:assert'
import type { TestContext } from 'node:test'
import type { Credentials, SecureListeners } from '../../tools/apache-kafka/security.js'
import { deleteAcls, grantAcls, type AclSpec } from './acls.js'
import type { TestBroker } from './broker.js'

/** librdkafka settings for the SASL_SSL listener as `user` (`ca: null`: no CA given). */
export function saslSslSettings(security: SecureListeners, user: Credentials, options: { mechanism?: string; ca?: string | null } = {}): Record<string, string> {
  const settings: Record<string, string> = {
    'security.protocol': 'SASL_SSL',
    'sasl.mechanisms': options.mechanism ?? 'SCRAM-SHA-512',
    'sasl.username': user.username,
    'sasl.password': user.password,
  }
  const ca = options.ca === undefined ? security.caLocation : options.ca
  if (ca !== null) settings['ssl.ca.location'] = ca
  return settings
}

/** What a consuming principal needs on `topic` and `group`. */
export function consumerAcls(principal: string, topic: string, group: string): AclSpec[] {
  return [
    { principal, resourceType: 'TOPIC', name: topic, operation: 'READ' },
    { principal, resourceType: 'TOPIC', name: topic, operation: 'DESCRIBE' },
    { principal, resourceType: 'GROUP', name: group, operation: 'READ' },
  ]
}

/** What a producing principal needs on `topic`. */
export function writerAcls(principal: string, topic: string): AclSpec[] {
  return [
    { principal, resourceType: 'TOPIC', name: topic, operation: 'WRITE' },
    { principal, resourceType: 'TOPIC', name: topic, operation: 'DESCRIBE' },
  ]
}

/** What a transactional producer needs on its transactional id. */
export function transactionalIdAcls(principal: string, transactionalId: string): AclSpec[] {
  return [
    { principal, resourceType: 'TRANSACTIONAL_ID', name: transactionalId, operation: 'WRITE' },
    { principal, resourceType: 'TRANSACTIONAL_ID', name: transactionalId, operation: 'DESCRIBE' },
  ]
}

/** Grants `acls` over the open listener at `plaintextBootstrap` until the test ends. */
export async function grantForTest(t: TestContext, plaintextBootstrap: string, acls: AclSpec[]): Promise<void> {
  await grantAcls(plaintextBootstrap, acls)
  t.after(() => deleteAcls(plaintextBootstrap, acls))
}

/** The broker's secured listeners; the Apache Kafka tier always has them. */
export function securityOf(broker: TestBroker): SecureListeners {
  const found = broker.security
  assert.ok(found, 'the Apache Kafka tier starts its broker with secured listeners (KVP_TEST_SECURITY)')
  return found
}

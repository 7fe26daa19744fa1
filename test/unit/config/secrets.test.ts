import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { envNameToKey, kafkaSettingsFromEnv } from '../../../src/config/secrets.js'
import { ConfigError, KvpError, ErrorCodes } from '../../../src/errors.js'
import { isSecretSetting, redactSettings, secrets } from '../../../src/config/redaction.js'

test('environment names map to librdkafka keys as Confluent images map KAFKA_*', () => {
  assert.equal(envNameToKey('SASL_PASSWORD'), 'sasl.password')
  assert.equal(envNameToKey('PRODUCER_COMPRESSION_TYPE'), 'producer.compression.type')
  assert.equal(envNameToKey('LOG__LEVEL'), 'log_level')
  assert.equal(envNameToKey('A___B'), 'a-b')
})

test('KVP_KAFKA_* settings come from the environment, and *_FILE ones from files with the trailing newline dropped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-secrets-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'password'), 'from-a-file-s3cret\n')
  const settings = kafkaSettingsFromEnv({
    KVP_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KVP_KAFKA_SASL_USERNAME: 'app',
    KVP_KAFKA_SASL_PASSWORD_FILE: join(dir, 'password'),
    KVP_KAFKA_SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE: '/keys/assert.pem',
    OTHER: 'ignored',
  })
  assert.deepEqual(settings, {
    'security.protocol': 'SASL_SSL',
    'sasl.username': 'app',
    'sasl.password': 'from-a-file-s3cret',
    // A property whose own name ends in .file is not read as a file reference.
    'sasl.oauthbearer.assertion.private.key.file': '/keys/assert.pem',
  })
  // And the value read from the file is a secret from then on.
  assert.equal(secrets.redact('password is from-a-file-s3cret.'), 'password is [redacted].')
})

test('a *_FILE variable naming a file that cannot be read is a config error naming the variable, not the content', () => {
  assert.throws(
    () => kafkaSettingsFromEnv({ KVP_KAFKA_SASL_PASSWORD_FILE: '/nonexistent/kvp/password' }),
    (err: unknown) => err instanceof ConfigError && err.field === 'KVP_KAFKA_SASL_PASSWORD_FILE' && /cannot read the file it names \(\/nonexistent\/kvp\/password\): ENOENT/.test(err.message),
  )
})

test('secret settings are known by name, and redacted in settings, texts, JSON and errors', () => {
  for (const key of ['sasl.password', 'ssl.key.password', 'ssl.keystore.password', 'ssl.key.pem', 'sasl.oauthbearer.client.secret', 'sasl.oauthbearer.config', 'producer.sasl.password'])
    assert.ok(isSecretSetting(key), key)
  for (const key of ['sasl.username', 'ssl.ca.location', 'ssl.certificate.pem', 'security.protocol']) assert.ok(!isSecretSetting(key), key)
  assert.deepEqual(redactSettings({ 'sasl.username': 'u', 'sasl.password': 'p' }), { 'sasl.username': 'u', 'sasl.password': '[redacted]' })
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----'
  secrets.addSettings({ 'ssl.key.pem': pem, 'sasl.password': 'hunter2-password' })
  assert.equal(secrets.redact(`key ${pem}`), 'key [redacted]')
  assert.equal(secrets.redact(JSON.stringify({ pem })), JSON.stringify({ pem: '[redacted]' }))
  assert.equal(secrets.redact('line MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7 alone'), 'line [redacted] alone')
  const error = new KvpError(ErrorCodes.KAFKA, 'login with hunter2-password failed')
  assert.equal(error.message, 'login with [redacted] failed')
})

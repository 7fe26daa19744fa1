import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import { isSecretSetting, secrets } from './redaction.js'

/** Names of librdkafka properties that end in `.file` themselves: `_FILE` is part of their name there. */
const FILE_PROPERTIES = new Set(['sasl.oauthbearer.assertion.private.key.file', 'sasl.oauthbearer.assertion.jwt.template.file'])

export const ENV_PREFIX = 'KVP_KAFKA_'

/**
 * librdkafka settings from the environment, the way Confluent's Kafka images read
 * `KAFKA_*`: after the `KVP_KAFKA_` prefix, `_` is a `.`, `__` a `_` and `___` a `-`, in
 * lower case (`KVP_KAFKA_SASL_PASSWORD` is `sasl.password`; `KVP_KAFKA_PRODUCER_COMPRESSION_TYPE`
 * is `producer.compression.type`). A name that ends in `_FILE` reads the value from that
 * file instead, as Docker and Kubernetes secrets are mounted (`KVP_KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka`;
 * one trailing newline is dropped). Every value whose key holds a secret is remembered for
 * redaction.
 */
export function kafkaSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue
    let key = envNameToKey(name.slice(ENV_PREFIX.length))
    let text = value
    if (name.endsWith('_FILE') && !FILE_PROPERTIES.has(key)) {
      key = key.slice(0, -'.file'.length)
      try {
        text = readFileSync(value, 'utf8').replace(/\r?\n$/, '')
      } catch (err) {
        throw new ConfigError(name, `cannot read the file it names (${value}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
    }
    if (key === '') throw new ConfigError(name, `names no librdkafka setting (expected ${ENV_PREFIX}<SETTING>, e.g. ${ENV_PREFIX}SASL_PASSWORD)`)
    settings[key] = text
    if (isSecretSetting(key)) secrets.add(text)
  }
  return settings
}

/** `SASL_PASSWORD` → `sasl.password`; `__` → `_`; `___` → `-`. */
export function envNameToKey(name: string): string {
  return name
    .split('___')
    .map((part) =>
      part
        .split('__')
        .map((piece) => piece.split('_').join('.'))
        .join('_'),
    )
    .join('-')
    .toLowerCase()
}

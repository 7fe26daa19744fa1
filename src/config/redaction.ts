/** librdkafka properties that hold a secret: their values never appear in anything kvp writes. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'sasl.password',
  'sasl.oauthbearer.client.secret',
  'sasl.oauthbearer.config',
  'sasl.oauthbearer.assertion.private.key.passphrase',
  'sasl.oauthbearer.assertion.private.key.pem',
  'ssl.key.password',
  'ssl.key.pem',
  'ssl_key',
  'ssl.keystore.password',
  'ssl.truststore.password',
])

/** A setting whose name says it holds a secret, listed or not (a password, a passphrase, a secret, a private key). */
export function isSecretSetting(key: string): boolean {
  const name = key.startsWith('producer.') ? key.slice('producer.'.length) : key
  return SECRET_SETTINGS.has(name) || /password|passphrase|secret|private\.key|(^|\.)key\.pem$/i.test(name)
}

const REDACTED = '[redacted]'

/**
 * Every secret value this process was given, and `redact()`, which replaces each of them in
 * a text (as written, and as JSON writes it) by `[redacted]`. The CLI passes everything it
 * writes through it; the engine adds the secrets of its settings when it starts.
 */
class SecretRegistry {
  readonly #forms = new Set<string>()

  /** Remembers the secret values among `settings` (by key name). */
  addSettings(settings: Readonly<Record<string, unknown>> | undefined): void {
    if (settings === undefined) return
    for (const [key, value] of Object.entries(settings)) if (isSecretSetting(key) && value !== undefined && value !== null) this.add(String(value))
  }

  /** Remembers one secret value. Values under 4 characters are not tracked: they would redact ordinary words. */
  add(value: string): void {
    if (value.length < 4) return
    this.#forms.add(value)
    const json = JSON.stringify(value).slice(1, -1)
    if (json !== value) this.#forms.add(json)
    // A PEM key spans lines; a line of it alone is a secret too.
    for (const line of value.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) this.#forms.add(line)
  }

  get size(): number {
    return this.#forms.size
  }

  redact(text: string): string {
    if (this.#forms.size === 0) return text
    let out = text
    // Longest first, so a whole value is replaced before a line of it.
    for (const form of [...this.#forms].sort((a, b) => b.length - a.length)) if (out.includes(form)) out = out.split(form).join(REDACTED)
    return out
  }
}

export const secrets = new SecretRegistry()

/** A copy of `settings` with every secret value replaced, for showing settings. */
export function redactSettings<T extends Readonly<Record<string, unknown>>>(settings: T): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) out[key] = isSecretSetting(key) ? REDACTED : value
  return out as T
}

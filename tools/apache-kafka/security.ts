/**
 * What the reference broker's secured listeners need, made per broker: TLS material (a CA,
 * certificates signed by it, PKCS12 keystores for the broker, PEM files for clients), SCRAM
 * and PLAIN users with random passwords, and the description tests receive
 * (`SecureListeners`), also as one environment variable so that a test runner can hand it
 * to every test file.
 *
 * The material is made with `openssl`, not the JDK's `keytool`: keytool cannot export a
 * private key, and an mTLS client (librdkafka) needs its key as a PEM file. What can be
 * pure is: the openssl configuration and each invocation's arguments are functions of the
 * file layout, unit-tested; only makeTlsMaterial() runs them.
 */
import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findOnPath } from './find-on-path.js'
import { ApacheKafkaError } from './errors.js'

/** SCRAM-SHA-512 users made at format time: `admin` is a super user; tests grant ACLs to the others. */
export const SCRAM_USERS = ['admin', 'app', 'noread', 'nogroup', 'nodlq'] as const
export type ScramUserName = (typeof SCRAM_USERS)[number]

/** SASL/PLAIN users of the SASL_SSL listener (in its JAAS configuration, so fixed at start). */
export const PLAIN_USERS = ['app'] as const
export type PlainUserName = (typeof PLAIN_USERS)[number]

export interface Credentials {
  username: string
  password: string
}

/** The common name of the mTLS client certificate; Kafka's default principal builder makes it `User:CN=mtls-client`. */
export const MTLS_CLIENT_NAME = 'mtls-client'

/** The one host name the second broker certificate is valid for: never 127.0.0.1. */
export const WRONG_HOST_NAME = 'wrong-host.invalid'

/** The secured listeners of a broker and what a client needs to use them. */
export interface SecureListeners {
  /** SASL_SSL (SCRAM-SHA-512 and PLAIN), certificate for IP:127.0.0.1 and DNS:localhost: `127.0.0.1:port`. */
  saslSsl: string
  /** SASL_SSL with a certificate for wrong-host.invalid only: a client that verifies host names refuses it. */
  wrongHost: string
  /** SSL with client certificates required (`ssl.client.auth=required`). */
  mtls: string
  /** The principal of the client certificate on the mTLS listener. */
  mtlsPrincipal: string
  /** PEM of the CA that signed the broker certificates and the client certificate. */
  caLocation: string
  /** PEM of an unrelated CA, for "the wrong CA" tests. */
  otherCaLocation: string
  /** The mTLS client's certificate and (unencrypted) key, PEM. */
  clientCertLocation: string
  clientKeyLocation: string
  /** SCRAM-SHA-512 users; `admin` is a super user. */
  users: Record<ScramUserName, Credentials>
  /** SASL/PLAIN users of the SASL_SSL listener. */
  plainUsers: Record<PlainUserName, Credentials>
}

/** The environment variable a test runner hands SecureListeners on in (JSON). */
export const SECURITY_ENV = 'KVP_TEST_SECURITY'

// --- users ---------------------------------------------------------------------------------

/** 18 random bytes as base64url: 24 characters that need no quoting in JAAS, properties or `--add-scram`. */
export function randomPassword(randomBytes: (size: number) => Uint8Array): string {
  return Buffer.from(randomBytes(18)).toString('base64url')
}

function usersOf<N extends string>(names: readonly N[], randomBytes: (size: number) => Uint8Array): Record<N, Credentials> {
  return Object.fromEntries(names.map((name) => [name, { username: name as string, password: randomPassword(randomBytes) }])) as Record<N, Credentials>
}

export function randomUsers(randomBytes: (size: number) => Uint8Array): { users: Record<ScramUserName, Credentials>; plainUsers: Record<PlainUserName, Credentials> } {
  return { users: usersOf(SCRAM_USERS, randomBytes), plainUsers: usersOf(PLAIN_USERS, randomBytes) }
}

/**
 * `kafka.tools.StorageTool format` arguments that create the SCRAM-SHA-512 users: one
 * `--add-scram` per user. KRaft keeps SCRAM credentials in the metadata log, so users made
 * here exist before the broker first serves.
 */
export function addScramArgs(users: Readonly<Record<string, Credentials>>): string[] {
  return Object.values(users).flatMap(({ username, password }) => ['--add-scram', `SCRAM-SHA-512=[name=${username},password=${password}]`])
}

// --- TLS material --------------------------------------------------------------------------

/** Where makeTlsMaterial() puts each file, under one folder. */
export interface TlsFiles {
  dir: string
  /** The openssl configuration: the request defaults and one extension section per certificate kind. */
  opensslConfig: string
  caKey: string
  caCert: string
  otherCaKey: string
  otherCaCert: string
  brokerKey: string
  brokerRequest: string
  brokerCert: string
  brokerKeystore: string
  wrongHostKey: string
  wrongHostRequest: string
  wrongHostCert: string
  wrongHostKeystore: string
  clientKey: string
  clientRequest: string
  clientCert: string
}

export function tlsFiles(dir: string): TlsFiles {
  const at = (name: string): string => join(dir, name)
  return {
    dir,
    opensslConfig: at('openssl.cnf'),
    caKey: at('ca.key'),
    caCert: at('ca.pem'),
    otherCaKey: at('other-ca.key'),
    otherCaCert: at('other-ca.pem'),
    brokerKey: at('broker.key'),
    brokerRequest: at('broker.csr'),
    brokerCert: at('broker.pem'),
    brokerKeystore: at('broker.p12'),
    wrongHostKey: at('wrong-host.key'),
    wrongHostRequest: at('wrong-host.csr'),
    wrongHostCert: at('wrong-host.pem'),
    wrongHostKeystore: at('wrong-host.p12'),
    clientKey: at('client.key'),
    clientRequest: at('client.csr'),
    clientCert: at('client.pem'),
  }
}

/** The subject alternative names of the broker certificate: what librdkafka checks the address it dialled against. */
export const BROKER_SAN = 'IP:127.0.0.1,DNS:localhost'

/**
 * openssl's configuration for `req` and `x509 -req`: an empty distinguished-name section
 * (subjects come from `-subj`), and the extensions of each kind of certificate. Its own file
 * instead of the system's openssl.cnf, whose `req` defaults would add a second
 * basicConstraints to the CA.
 */
export function opensslConfig(): string {
  return `# Generated by kvp's tools/apache-kafka: test certificates for the secured listeners.
[req]
distinguished_name = req_dn
[req_dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${BROKER_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong_host]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${WRONG_HOST_NAME}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`
}

/** Certificates are made per broker and live as long as its data folder; a year leaves room for a wrong clock. */
const VALIDITY_DAYS = '365'

/** The environment variable that carries a keystore password to `openssl pkcs12` (an argument would show in `ps`). */
export const KEYSTORE_PASSWORD_ENV = 'KVP_KEYSTORE_PASSWORD'

/** One openssl invocation; `password` goes to it in KEYSTORE_PASSWORD_ENV. */
export interface OpensslStep {
  /** What it makes, for error messages. */
  what: string
  args: string[]
  password?: string
}

/** A P-256 key, PKCS#8 PEM, unencrypted: fast to make, and both the JDK and librdkafka's OpenSSL take it. */
export function keyArgs(keyFile: string): string[] {
  return ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]
}

/** A self-signed CA certificate with the `[ca]` extensions. */
export function caCertArgs(configFile: string, keyFile: string, subject: string, certFile: string): string[] {
  return ['req', '-x509', '-new', '-config', configFile, '-extensions', 'ca', '-key', keyFile, '-subj', subject, '-days', VALIDITY_DAYS, '-sha256', '-out', certFile]
}

/** A certificate request for `subject` (its extensions are added when the CA signs it). */
export function requestArgs(configFile: string, keyFile: string, subject: string, requestFile: string): string[] {
  return ['req', '-new', '-config', configFile, '-key', keyFile, '-subj', subject, '-out', requestFile]
}

export interface SignInput {
  configFile: string
  /** The extension section of opensslConfig(): 'server', 'wrong_host' or 'client'. */
  section: 'server' | 'wrong_host' | 'client'
  requestFile: string
  caCert: string
  caKey: string
  /** A serial number in hex, distinct per certificate of the CA. */
  serial: string
  certFile: string
}

export function signArgs(input: SignInput): string[] {
  return [
    'x509',
    '-req',
    '-in',
    input.requestFile,
    '-CA',
    input.caCert,
    '-CAkey',
    input.caKey,
    '-set_serial',
    `0x${input.serial}`,
    '-days',
    VALIDITY_DAYS,
    '-sha256',
    '-extfile',
    input.configFile,
    '-extensions',
    input.section,
    '-out',
    input.certFile,
  ]
}

/** A PKCS12 keystore with the key, its certificate and the CA (the chain the broker presents); password from the environment. */
export function pkcs12Args(keyFile: string, certFile: string, caCert: string, keystoreFile: string): string[] {
  return ['pkcs12', '-export', '-inkey', keyFile, '-in', certFile, '-certfile', caCert, '-name', 'broker', '-passout', `env:${KEYSTORE_PASSWORD_ENV}`, '-out', keystoreFile]
}

export interface KeystorePasswords {
  broker: string
  wrongHost: string
}

/**
 * Every openssl invocation, in order: the CA, the unrelated CA, the broker certificate and
 * keystore, the wrong-host certificate and keystore, the mTLS client certificate.
 * `serial()` gives a fresh hex serial per signed certificate.
 */
export function opensslSteps(files: TlsFiles, passwords: KeystorePasswords, serial: () => string): OpensslStep[] {
  const config = files.opensslConfig
  const signed = (what: string, section: SignInput['section'], subject: string, key: string, request: string, cert: string): OpensslStep[] => [
    { what: `the ${what} key`, args: keyArgs(key) },
    { what: `the ${what} certificate request`, args: requestArgs(config, key, subject, request) },
    { what: `the ${what} certificate`, args: signArgs({ configFile: config, section, requestFile: request, caCert: files.caCert, caKey: files.caKey, serial: serial(), certFile: cert }) },
  ]
  return [
    { what: 'the CA key', args: keyArgs(files.caKey) },
    { what: 'the CA certificate', args: caCertArgs(config, files.caKey, '/CN=kvp-test-ca', files.caCert) },
    { what: 'the unrelated CA key', args: keyArgs(files.otherCaKey) },
    { what: 'the unrelated CA certificate', args: caCertArgs(config, files.otherCaKey, '/CN=kvp-test-other-ca', files.otherCaCert) },
    ...signed('broker', 'server', '/CN=localhost', files.brokerKey, files.brokerRequest, files.brokerCert),
    { what: 'the broker keystore', args: pkcs12Args(files.brokerKey, files.brokerCert, files.caCert, files.brokerKeystore), password: passwords.broker },
    ...signed('wrong-host broker', 'wrong_host', `/CN=${WRONG_HOST_NAME}`, files.wrongHostKey, files.wrongHostRequest, files.wrongHostCert),
    { what: 'the wrong-host keystore', args: pkcs12Args(files.wrongHostKey, files.wrongHostCert, files.caCert, files.wrongHostKeystore), password: passwords.wrongHost },
    ...signed('mTLS client', 'client', `/CN=${MTLS_CLIENT_NAME}`, files.clientKey, files.clientRequest, files.clientCert),
  ]
}

/** The TLS material of one broker, made on disk. */
export interface TlsMaterial {
  files: TlsFiles
  passwords: KeystorePasswords
}

const OPENSSL_TIMEOUT_MS = 30_000

/** `openssl` on PATH, or an error that says what it is needed for. */
export function requireOpenssl(pathVariable: string | undefined): string {
  const found = findOnPath('openssl', pathVariable)
  if (found !== undefined) return found
  throw new ApacheKafkaError('`openssl` was not found on PATH: the secured listeners of Apache Kafka need test certificates made with it (e.g. apt-get install openssl)')
}

/**
 * Makes the CA, certificates and keystores of opensslSteps() in `dir` (created; the keys
 * are readable by this user only). Keystore passwords are random and reach openssl only
 * through its environment.
 */
export async function makeTlsMaterial(dir: string, randomBytes: (size: number) => Uint8Array, env: NodeJS.ProcessEnv): Promise<TlsMaterial> {
  const openssl = requireOpenssl(env.PATH)
  const files = tlsFiles(dir)
  const passwords: KeystorePasswords = { broker: randomPassword(randomBytes), wrongHost: randomPassword(randomBytes) }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(files.opensslConfig, opensslConfig())
  const serial = (): string => Buffer.from(randomBytes(16)).toString('hex')
  for (const step of opensslSteps(files, passwords, serial)) {
    await runOpenssl(openssl, step, { PATH: env.PATH ?? '', ...(step.password === undefined ? {} : { [KEYSTORE_PASSWORD_ENV]: step.password }) })
  }
  for (const request of [files.brokerRequest, files.wrongHostRequest, files.clientRequest]) await rm(request, { force: true })
  return { files, passwords }
}

function runOpenssl(openssl: string, step: OpensslStep, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(openssl, step.args, { env, timeout: OPENSSL_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve()
      // The arguments name files only; passwords travel in the environment.
      const output = String(stderr).trim() || err.message
      reject(new ApacheKafkaError(`openssl could not make ${step.what} (openssl ${step.args.join(' ')}):\n${output}`, { cause: err }))
    })
  })
}

// --- what tests receive --------------------------------------------------------------------

export interface SecurePorts {
  saslSsl: number
  wrongHost: number
  mtls: number
}

export function secureListeners(ports: SecurePorts, material: TlsMaterial, users: Record<ScramUserName, Credentials>, plainUsers: Record<PlainUserName, Credentials>): SecureListeners {
  return {
    saslSsl: `127.0.0.1:${ports.saslSsl}`,
    wrongHost: `127.0.0.1:${ports.wrongHost}`,
    mtls: `127.0.0.1:${ports.mtls}`,
    mtlsPrincipal: `User:CN=${MTLS_CLIENT_NAME}`,
    caLocation: material.files.caCert,
    otherCaLocation: material.files.otherCaCert,
    clientCertLocation: material.files.clientCert,
    clientKeyLocation: material.files.clientKey,
    users,
    plainUsers,
  }
}

/** SecureListeners as the value of SECURITY_ENV. */
export function secureListenersToEnv(listeners: SecureListeners): string {
  return JSON.stringify(listeners)
}

/**
 * SecureListeners from SECURITY_ENV, or undefined when it is unset or empty (a broker
 * without secured listeners). A value that is not what secureListenersToEnv() wrote throws.
 */
export function secureListenersFromEnv(env: NodeJS.ProcessEnv = process.env): SecureListeners | undefined {
  const text = env[SECURITY_ENV]
  if (text === undefined || text.trim() === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ApacheKafkaError(`${SECURITY_ENV} is not JSON (${(err as Error).message})`, { cause: err })
  }
  const problem = describeProblem(parsed)
  if (problem !== undefined) throw new ApacheKafkaError(`${SECURITY_ENV} does not describe secured listeners: ${problem}`)
  return parsed as SecureListeners
}

const STRING_FIELDS = ['saslSsl', 'wrongHost', 'mtls', 'mtlsPrincipal', 'caLocation', 'otherCaLocation', 'clientCertLocation', 'clientKeyLocation'] as const

/** What is missing from a parsed SECURITY_ENV value, or undefined when it is complete. Never quotes a password. */
function describeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'expected an object'
  const record = value as Record<string, unknown>
  for (const field of STRING_FIELDS) if (typeof record[field] !== 'string') return `${field} is not a string`
  const credentialsProblem = (group: 'users' | 'plainUsers', names: readonly string[]): string | undefined => {
    const users = record[group]
    if (typeof users !== 'object' || users === null) return `${group} is not an object`
    for (const name of names) {
      const user = (users as Record<string, unknown>)[name] as Record<string, unknown> | undefined
      if (typeof user?.username !== 'string' || typeof user.password !== 'string') return `${group}.${name} has no username and password`
    }
    return undefined
  }
  return credentialsProblem('users', SCRAM_USERS) ?? credentialsProblem('plainUsers', PLAIN_USERS)
}

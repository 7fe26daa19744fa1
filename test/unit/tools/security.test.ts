import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { findOnPath } from '../../../tools/apache-kafka/classpath.js'
import { brokerSettings, plainJaasConfig, securitySettings, serverProperties, type SecuritySettingsInput } from '../../../tools/apache-kafka/config-files.js'
import {
  addScramArgs,
  BROKER_SAN,
  KEYSTORE_PASSWORD_ENV,
  makeTlsMaterial,
  opensslConfig,
  opensslSteps,
  PLAIN_USERS,
  randomUsers,
  requireOpenssl,
  SCRAM_USERS,
  SECURITY_ENV,
  type SecureListeners,
  secureListeners,
  secureListenersFromEnv,
  secureListenersToEnv,
  tlsFiles,
} from '../../../tools/apache-kafka/security.js'

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-test-security-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const security: SecuritySettingsInput = {
  ports: { saslSsl: 39094, wrongHost: 39095, mtls: 39096 },
  keystore: { location: '/data/tls/broker.p12', password: 'good-pw' },
  wrongHostKeystore: { location: '/data/tls/wrong-host.p12', password: 'wrong-pw' },
  caCert: '/data/tls/ca.pem',
  plainUsers: [{ username: 'app', password: 'plain-pw' }],
}
const input = { port: 39092, controllerPort: 39093, logDir: '/data/kraft-logs', autoCreateTopics: false }

describe('Apache Kafka launcher: settings of the secured listeners', { timeout: 10_000 }, () => {
  it('the secured listeners are served and advertised next to PLAINTEXT, which stays the open inter-broker listener', () => {
    const settings = brokerSettings({ ...input, security })
    assert.equal(settings.get('listeners'), 'PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093,SASL_SSL://127.0.0.1:39094,WRONGHOST://127.0.0.1:39095,MTLS://127.0.0.1:39096')
    assert.equal(settings.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:39092,SASL_SSL://127.0.0.1:39094,WRONGHOST://127.0.0.1:39095,MTLS://127.0.0.1:39096')
    assert.equal(settings.get('listener.security.protocol.map'), 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,WRONGHOST:SASL_SSL,MTLS:SSL')
    assert.equal(settings.get('inter.broker.listener.name'), 'PLAINTEXT')
    assert.equal(settings.get('controller.listener.names'), 'CONTROLLER')
  })

  it('ACLs are enforced for everyone but ANONYMOUS (PLAINTEXT and CONTROLLER) and admin', () => {
    const settings = securitySettings(security)
    assert.equal(settings.get('authorizer.class.name'), 'org.apache.kafka.metadata.authorizer.StandardAuthorizer')
    assert.equal(settings.get('allow.everyone.if.no.acl.found'), 'false')
    assert.deepEqual(settings.get('super.users')?.split(';'), ['User:ANONYMOUS', 'User:admin'])
  })

  it('SASL_SSL takes SCRAM-SHA-512 and PLAIN with the good keystore; WRONGHOST has its own keystore; MTLS requires a client certificate from the CA', () => {
    const settings = securitySettings(security)
    assert.equal(settings.get('sasl.enabled.mechanisms'), 'SCRAM-SHA-512,PLAIN')
    assert.equal(settings.get('ssl.keystore.type'), 'PKCS12')
    assert.equal(settings.get('ssl.keystore.location'), '/data/tls/broker.p12')
    assert.equal(settings.get('ssl.keystore.password'), 'good-pw')
    assert.equal(settings.get('ssl.key.password'), 'good-pw')
    assert.equal(settings.get('listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config'), 'org.apache.kafka.common.security.scram.ScramLoginModule required;')
    assert.equal(settings.get('listener.name.sasl_ssl.plain.sasl.jaas.config'), 'org.apache.kafka.common.security.plain.PlainLoginModule required user_app="plain-pw";')

    assert.equal(settings.get('listener.name.wronghost.ssl.keystore.type'), 'PKCS12')
    assert.equal(settings.get('listener.name.wronghost.ssl.keystore.location'), '/data/tls/wrong-host.p12')
    assert.equal(settings.get('listener.name.wronghost.ssl.keystore.password'), 'wrong-pw')
    assert.equal(settings.get('listener.name.wronghost.ssl.key.password'), 'wrong-pw')
    assert.equal(settings.get('listener.name.wronghost.sasl.enabled.mechanisms'), 'SCRAM-SHA-512', 'PLAIN has no users on WRONGHOST')
    assert.ok(settings.has('listener.name.wronghost.scram-sha-512.sasl.jaas.config'))

    assert.equal(settings.get('listener.name.mtls.ssl.client.auth'), 'required')
    assert.equal(settings.get('listener.name.mtls.ssl.truststore.type'), 'PEM')
    assert.equal(settings.get('listener.name.mtls.ssl.truststore.location'), '/data/tls/ca.pem')
  })

  it('every security setting reaches server.properties, and none is there without security', () => {
    const text = serverProperties({ ...input, security })
    for (const [key, value] of securitySettings(security)) assert.ok(text.includes(`\n${key}=${value}\n`), key)
    const open = brokerSettings(input)
    assert.deepEqual(
      [...open.keys()].filter((key) => /ssl|sasl|authorizer|super\.users|acl/.test(key)),
      [],
    )
    assert.equal(open.get('listener.security.protocol.map'), 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT')
  })

  it('PLAIN users are one user_<name> entry each', () => {
    assert.equal(
      plainJaasConfig([
        { username: 'a', password: 'x' },
        { username: 'b', password: 'y' },
      ]),
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="x" user_b="y";',
    )
  })
})

describe('Apache Kafka launcher: users of the secured listeners', { timeout: 10_000 }, () => {
  it('the storage format gets one --add-scram per SCRAM user', () => {
    const { users } = randomUsers(randomBytes)
    const args = addScramArgs(users)
    assert.equal(args.filter((arg) => arg === '--add-scram').length, SCRAM_USERS.length)
    for (const name of SCRAM_USERS) {
      const at = args.indexOf(`SCRAM-SHA-512=[name=${name},password=${users[name].password}]`)
      assert.ok(at > 0 && args[at - 1] === '--add-scram', name)
    }
  })

  it('every user has a fresh password that needs no quoting', () => {
    const { users, plainUsers } = randomUsers(randomBytes)
    assert.deepEqual(Object.keys(users), [...SCRAM_USERS])
    assert.deepEqual(Object.keys(plainUsers), [...PLAIN_USERS])
    const passwords = [...Object.values(users), ...Object.values(plainUsers)].map((user) => user.password)
    assert.equal(new Set(passwords).size, passwords.length)
    for (const password of passwords) assert.match(password, /^[A-Za-z0-9_-]{24}$/)
    for (const [name, user] of Object.entries(users)) assert.equal(user.username, name)
  })
})

describe('Apache Kafka launcher: TLS material', { timeout: 30_000 }, () => {
  const files = tlsFiles('/tls')
  const passwords = { broker: 'broker-secret', wrongHost: 'wrong-host-secret' }
  let serials = 0
  const steps = opensslSteps(files, passwords, () => `a${serials++}`)
  const argsOf = (what: string): string[] => {
    const step = steps.find((candidate) => candidate.what === what)
    assert.ok(step, what)
    return step.args
  }
  const after = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1]

  it('the openssl configuration gives the broker certificate its addresses, the wrong-host one another name only, and the client clientAuth', () => {
    const config = opensslConfig()
    assert.equal(BROKER_SAN, 'IP:127.0.0.1,DNS:localhost')
    const section = (name: string): string => config.split(`[${name}]\n`)[1]?.split('\n[')[0] ?? ''
    assert.match(section('server'), /^subjectAltName = IP:127\.0\.0\.1,DNS:localhost$/m)
    assert.match(section('server'), /^extendedKeyUsage = serverAuth$/m)
    assert.match(section('wrong_host'), /^subjectAltName = DNS:wrong-host\.invalid$/m)
    assert.match(section('client'), /^extendedKeyUsage = clientAuth$/m)
    assert.doesNotMatch(section('client'), /subjectAltName/)
    assert.match(section('ca'), /^basicConstraints = critical,CA:TRUE$/m)
  })

  it('two self-signed CAs, then three certificates signed by the first, each with its section and its own serial', () => {
    assert.equal(after(argsOf('the CA certificate'), '-x509'), '-new')
    assert.equal(after(argsOf('the CA certificate'), '-subj'), '/CN=kvp-test-ca')
    assert.equal(after(argsOf('the unrelated CA certificate'), '-subj'), '/CN=kvp-test-other-ca')
    assert.equal(after(argsOf('the unrelated CA certificate'), '-key'), files.otherCaKey)
    const signed = [
      ['the broker certificate', 'server', files.brokerRequest, files.brokerCert],
      ['the wrong-host broker certificate', 'wrong_host', files.wrongHostRequest, files.wrongHostCert],
      ['the mTLS client certificate', 'client', files.clientRequest, files.clientCert],
    ] as const
    for (const [what, section, request, cert] of signed) {
      const args = argsOf(what)
      assert.equal(args[0], 'x509')
      assert.equal(after(args, '-extensions'), section, what)
      assert.equal(after(args, '-in'), request, what)
      assert.equal(after(args, '-out'), cert, what)
      assert.equal(after(args, '-CA'), files.caCert, what)
      assert.equal(after(args, '-CAkey'), files.caKey, what)
    }
    assert.deepEqual(
      signed.map(([what]) => after(argsOf(what), '-set_serial')),
      ['0xa0', '0xa1', '0xa2'],
    )
    assert.equal(after(argsOf('the mTLS client certificate request'), '-subj'), '/CN=mtls-client')
    assert.equal(after(argsOf('the wrong-host broker certificate request'), '-subj'), '/CN=wrong-host.invalid')
  })

  it('the keystores hold key, certificate and CA, and get their passwords from the environment, never the arguments', () => {
    const broker = steps.find((step) => step.what === 'the broker keystore')
    const wrongHost = steps.find((step) => step.what === 'the wrong-host keystore')
    assert.equal(broker?.password, 'broker-secret')
    assert.equal(wrongHost?.password, 'wrong-host-secret')
    assert.deepEqual(broker?.args, [
      'pkcs12',
      '-export',
      '-inkey',
      files.brokerKey,
      '-in',
      files.brokerCert,
      '-certfile',
      files.caCert,
      '-name',
      'broker',
      '-passout',
      `env:${KEYSTORE_PASSWORD_ENV}`,
      '-out',
      files.brokerKeystore,
    ])
    assert.equal(after(wrongHost?.args ?? [], '-out'), files.wrongHostKeystore)
    for (const step of steps) for (const arg of step.args) assert.equal(arg.includes('secret'), false, `${step.what}: ${arg}`)
  })

  it('without openssl on PATH the error says what it is for', (t) => {
    assert.throws(() => requireOpenssl(tempDir(t)), /`openssl` was not found on PATH: the secured listeners of Apache Kafka need test certificates/)
  })

  it('makeTlsMaterial makes certificates that verify against the CA (not the other one), for the right names, and keystores that open with their password', async (t) => {
    const openssl = findOnPath('openssl', process.env.PATH)
    if (openssl === undefined) return t.skip('no openssl on PATH here')
    const dir = join(tempDir(t), 'tls')
    const material = await makeTlsMaterial(dir, randomBytes, process.env)
    const run = (args: string[], env: NodeJS.ProcessEnv = {}): string => execFileSync(openssl, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const { files } = material
    for (const cert of [files.brokerCert, files.wrongHostCert, files.clientCert]) assert.match(run(['verify', '-CAfile', files.caCert, cert]), /: OK/)
    assert.throws(() => run(['verify', '-CAfile', files.otherCaCert, files.brokerCert]))
    assert.match(run(['x509', '-in', files.brokerCert, '-noout', '-ext', 'subjectAltName']), /IP Address:127\.0\.0\.1, DNS:localhost/)
    const wrongHostNames = run(['x509', '-in', files.wrongHostCert, '-noout', '-ext', 'subjectAltName'])
    assert.match(wrongHostNames, /DNS:wrong-host\.invalid/)
    assert.doesNotMatch(wrongHostNames, /127\.0\.0\.1|localhost/)
    assert.match(run(['x509', '-in', files.clientCert, '-noout', '-subject']), /subject=CN = mtls-client/)
    assert.match(run(['pkey', '-in', files.clientKey, '-noout', '-text']), /Private-Key/)
    for (const [keystore, password] of [
      [files.brokerKeystore, material.passwords.broker],
      [files.wrongHostKeystore, material.passwords.wrongHost],
    ] as const) {
      assert.match(run(['pkcs12', '-in', keystore, '-nokeys', '-passin', `env:${KEYSTORE_PASSWORD_ENV}`], { [KEYSTORE_PASSWORD_ENV]: password }), /BEGIN CERTIFICATE/)
      assert.throws(() => run(['pkcs12', '-in', keystore, '-nokeys', '-passin', `env:${KEYSTORE_PASSWORD_ENV}`], { [KEYSTORE_PASSWORD_ENV]: 'wrong' }))
    }
    assert.equal(existsSync(files.brokerRequest), false, 'the requests are removed')
    assert.equal(statSync(dir).mode & 0o077, 0, 'the folder is private')
  })
})

describe('Apache Kafka launcher: secured listeners handed to test files', { timeout: 10_000 }, () => {
  const { users, plainUsers } = randomUsers(randomBytes)
  const listeners: SecureListeners = secureListeners({ saslSsl: 1, wrongHost: 2, mtls: 3 }, { files: tlsFiles('/tls'), passwords: { broker: 'a', wrongHost: 'b' } }, users, plainUsers)

  it('describe the listeners, the files clients need and the users', () => {
    assert.equal(listeners.saslSsl, '127.0.0.1:1')
    assert.equal(listeners.wrongHost, '127.0.0.1:2')
    assert.equal(listeners.mtls, '127.0.0.1:3')
    assert.equal(listeners.mtlsPrincipal, 'User:CN=mtls-client')
    assert.deepEqual(
      [listeners.caLocation, listeners.otherCaLocation, listeners.clientCertLocation, listeners.clientKeyLocation],
      ['/tls/ca.pem', '/tls/other-ca.pem', '/tls/client.pem', '/tls/client.key'],
    )
  })

  it('round-trip through one environment variable; unset or empty is undefined', () => {
    assert.equal(SECURITY_ENV, 'KVP_TEST_SECURITY')
    assert.deepEqual(secureListenersFromEnv({ [SECURITY_ENV]: secureListenersToEnv(listeners) }), listeners)
    assert.equal(secureListenersFromEnv({}), undefined)
    assert.equal(secureListenersFromEnv({ [SECURITY_ENV]: ' ' }), undefined)
  })

  it('a value that is not theirs is an error that names the field and no password', () => {
    assert.throws(() => secureListenersFromEnv({ [SECURITY_ENV]: '{' }), /KVP_TEST_SECURITY is not JSON/)
    assert.throws(() => secureListenersFromEnv({ [SECURITY_ENV]: JSON.stringify({ ...listeners, mtls: 3 }) }), /KVP_TEST_SECURITY does not describe secured listeners: mtls is not a string/)
    const noNodlq = { ...listeners, users: { ...listeners.users, nodlq: undefined } }
    assert.throws(
      () => secureListenersFromEnv({ [SECURITY_ENV]: JSON.stringify(noNodlq) }),
      (err: Error) => /users\.nodlq has no username and password/.test(err.message) && !err.message.includes(users.admin.password),
    )
  })
})

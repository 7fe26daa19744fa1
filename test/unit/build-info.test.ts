import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { buildInfo, describeBuild, REQUIRED_CODECS } from '../../src/build-info.js'

test('the build has every codec kvp promises (gzip, snappy, lz4, zstd), TLS and SASL', () => {
  const info = buildInfo()
  for (const feature of [...REQUIRED_CODECS, 'ssl', 'sasl_plain', 'sasl_scram', 'sasl_oauthbearer'])
    assert.ok(info.features.includes(feature), `librdkafka ${info.librdkafka} lacks ${feature} (builtin.features: ${info.features.join(',')})`)
})

test('kvp --version names kvp, node-rdkafka and librdkafka with its builtin.features', () => {
  const text = describeBuild({ kvp: '1.2.3', nodeRdkafka: '3.6.1', librdkafka: '2.12.0', features: ['gzip', 'zstd'] })
  assert.equal(text, 'kvp 1.2.3\nnode-rdkafka 3.6.1\nlibrdkafka 2.12.0\nbuiltin.features gzip,zstd\n')
  assert.match(buildInfo().nodeRdkafka, /^\d+\.\d+\.\d+/)
})

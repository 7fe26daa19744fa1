/**
 * `npm run schema`: writes kvp.schema.json (the JSON Schema of `kvp run --config` files)
 * from the options schema. A unit test fails when the committed file is out of date.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configFileJsonSchemaText } from '../src/config/json-schema.js'

const target = fileURLToPath(new URL('../../kvp.schema.json', import.meta.url))
writeFileSync(target, configFileJsonSchemaText())
process.stdout.write(`wrote ${target}\n`)

/**
 * `npm run schema` (with kvp.schema.json): writes docs/configuration.md from the options
 * schema (tools/config-docs.ts). A unit test fails when the committed page is out of date.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configurationPage } from './config-docs.js'

const target = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url))
writeFileSync(target, configurationPage())
process.stdout.write(`wrote ${target}\n`)

#!/usr/bin/env node
// The `kvp` command. The CLI is written in TypeScript and compiled to dist/ by
// `npm run build` (run by `prepare` on install).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('kvp is not built: run npm run build\n')
  process.exit(1)
}

const { main } = await import(entry.href)
// A crash prints through the secret registry too: no secret value kvp was given reaches its output.
const { secrets } = await import(new URL('../dist/src/config/redaction.js', import.meta.url).href)
const crashed = (kind) => (error) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
  process.stderr.write(secrets.redact(`kvp: ${kind}: ${text}\n`))
  process.exit(1)
}
process.on('uncaughtException', crashed('uncaught exception'))
process.on('unhandledRejection', crashed('unhandled rejection'))
const code = await main(process.argv.slice(2))
process.exitCode = code
// Exit on our own once the command is done, even if a library left a handle open.
setTimeout(() => process.exit(code), 2000).unref()

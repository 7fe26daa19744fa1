import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { packageRoot } from '../../../bench/lib/paths.js'
import { IMAGE_RUNTIME } from '../../../bench/lib/runtime.js'

const dockerfile = readFileSync(join(packageRoot, 'Dockerfile'), 'utf8')

test("the memory benchmark's image runtime is the Dockerfile's: same node flags, same environment", () => {
  const entrypoint = dockerfile.match(/^ENTRYPOINT\s+(\[.*\])\s*$/m)
  assert.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT')
  const argv = JSON.parse(entrypoint[1] as string) as string[]
  assert.equal(argv[0], 'node')
  assert.deepEqual(argv.slice(1, -1), IMAGE_RUNTIME.nodeArgs, 'node flags before the script')
  assert.match(argv.at(-1) as string, /bin\/kvp\.js$/)
  for (const [name, value] of Object.entries(IMAGE_RUNTIME.env)) {
    assert.match(dockerfile, new RegExp(`^ENV ${name}=${value}\\s*$`, 'm'), `the image sets ${name}=${value}`)
  }
})

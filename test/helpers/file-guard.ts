/**
 * Preloaded into every test file's process by the test runner (`--import`), so that no
 * file can stall a run:
 *
 * - after the file's last test, the process must exit on its own within EXIT_GRACE_MS
 *   (its own after hooks, which stop engines and brokers, run inside that time); if something still holds the event loop (a port, a timer, a socket, a native client),
 *   the file fails and prints what it was;
 * - a file that runs past KVP_TEST_FILE_TIMEOUT_MS in all fails with its name.
 *
 * Both timers are unref'd: they never keep a healthy process alive.
 */
import { after } from 'node:test'
import { basename } from 'node:path'

const EXIT_GRACE_MS = 30_000
const FILE_TIMEOUT_MS = Number(process.env.KVP_TEST_FILE_TIMEOUT_MS ?? 600_000)
const file = basename(process.argv[1] ?? 'test file')

function fail(what: string): never {
  process.stderr.write(`\n${file}: ${what}; active handles: ${process.getActiveResourcesInfo().join(', ')}\n`)
  process.exit(1)
}

setTimeout(() => fail(`ran past the whole-file timeout of ${FILE_TIMEOUT_MS} ms`), FILE_TIMEOUT_MS).unref()

after(() => {
  setTimeout(() => fail(`did not exit within ${EXIT_GRACE_MS} ms of its last test (after hooks included): something still holds the event loop`), EXIT_GRACE_MS).unref()
})

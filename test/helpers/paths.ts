import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Compiled test fixtures (the tests run from dist/test). */
export const recordingHandler = fileURLToPath(new URL('../fixtures/recording-handler.js', import.meta.url))
export const producingHandler = fileURLToPath(new URL('../fixtures/producing-handler.js', import.meta.url))
/** Writes each input's record to KVP_TEST_MIRROR, and partition 0's also to KVP_TEST_OUTPUT. */
export const mirroringHandler = fileURLToPath(new URL('../fixtures/mirroring-handler.js', import.meta.url))
/** Records each message's key, value (length, sha256, short text) and payload as JSON lines. */
/** The recording handler, plus messages that kill their worker thread or honour their abort signal. */
export const crashingHandler = fileURLToPath(new URL('../fixtures/crashing-handler.js', import.meta.url))
export const payloadRecordingHandler = fileURLToPath(new URL('../fixtures/payload-recording-handler.js', import.meta.url))
export const kvpBin = fileURLToPath(new URL('../../../bin/kvp.js', import.meta.url))

export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'kvp-test-')), name)
}

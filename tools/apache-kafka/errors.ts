import { open } from 'node:fs/promises'

/** Why the reference broker could not be started: what is missing or what failed, and where its log is. */
export class ApacheKafkaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ApacheKafkaError'
  }
}

/** The last `lines` lines of a text file (at most its last 64 KiB), or a note that it cannot be read. */
export async function tailOfFile(file: string, lines = 20): Promise<string> {
  try {
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      const length = Math.min(size, 64 * 1024)
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, size - length)
      const text = buffer.toString('utf8').trimEnd()
      return text === '' ? '(the log is empty)' : text.split('\n').slice(-lines).join('\n')
    } finally {
      await handle.close()
    }
  } catch (err) {
    return `(no log: ${(err as Error).message})`
  }
}

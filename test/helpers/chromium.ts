import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/** Debian's chromium (or KVP_CHROMIUM): playwright-core drives it; browser downloads are not used. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.KVP_CHROMIUM
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim()
      if (path) return path
    } catch {
      // not on PATH
    }
  }
  return undefined
}

export const chromium = findChromium()

/** `{ skip }` for a test that needs a browser. */
export const needsChromium = chromium ? {} : { skip: 'no Chromium found (set KVP_CHROMIUM, or install Debian chromium: apt-get install -y chromium)' }

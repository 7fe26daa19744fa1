import { strict as assert } from 'node:assert'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = [resolve(here, '../../../..'), resolve(here, '../../..')].find((dir) => existsSync(join(dir, 'README.md')) && existsSync(join(dir, 'docs'))) as string

/** The Markdown pages a reader follows links between: the root's and docs/. */
function pages(): string[] {
  const top = ['README.md', 'CHANGELOG.md'].map((name) => join(root, name))
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name))
  return [...top, ...docs].filter((file) => existsSync(file))
}

/** The page without fenced code blocks and inline code, where `#` and `[x](y)` are not Markdown. */
function prose(text: string): string[] {
  const lines: string[] = []
  let fenced = false
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced
      continue
    }
    if (!fenced) lines.push(line.replace(/`[^`]*`/g, (code) => (code.includes('](') ? '' : code)))
  }
  return lines
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const line of prose(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading === null) continue
    const words = (heading[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    const slug = words
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    out.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return out
}

function links(text: string): string[] {
  const out: string[] = []
  for (const line of prose(text)) {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(match[1] as string)
  }
  return out
}

describe('links between the README, the changelog and docs/', () => {
  it('every relative link reaches a file, and every anchor a heading of its page', () => {
    assert.ok(root, 'the repository root has README.md and docs/')
    const broken: string[] = []
    for (const page of pages()) {
      const text = readFileSync(page, 'utf8')
      for (const target of links(text)) {
        if (/^[a-z]+:/i.test(target)) continue
        const [path = '', anchor] = target.split('#')
        const file = path === '' ? page : resolve(dirname(page), path)
        const where = `${relative(root, page)} → ${target}`
        if (!existsSync(file)) {
          broken.push(`${where}: no such file`)
          continue
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${where}: no such heading`)
      }
    }
    assert.deepEqual(broken, [])
  })

  it("makes GitHub's anchors", () => {
    assert.deepEqual(
      [...anchors("# Consume → transform → produce\n## `kvp lag`: a group's lag\n## An io lane's time (`npm run bench:lanes`)\n## KVP_HTTP_PORT\n## A\n## A\n```sh\n# not a heading\n```\n")],
      ['consume--transform--produce', 'kvp-lag-a-groups-lag', 'an-io-lanes-time-npm-run-benchlanes', 'kvp_http_port', 'a', 'a-1'],
    )
  })
})

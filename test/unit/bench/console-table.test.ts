import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { consoleTable, wantsColour } from '../../../bench/lib/console-table.js'

const ESCAPE = '\u001b['

describe('colour in the benchmarks’ console tables', () => {
  it('is on for a terminal and off for a pipe or a file', () => {
    assert.equal(wantsColour({ isTTY: true, env: {} }), true)
    assert.equal(wantsColour({ isTTY: false, env: {} }), false)
  })

  it('is off with a non-empty NO_COLOR, even on a terminal; an empty NO_COLOR changes nothing', () => {
    assert.equal(wantsColour({ isTTY: true, env: { NO_COLOR: '1' } }), false)
    assert.equal(wantsColour({ isTTY: true, env: { NO_COLOR: 'anything' } }), false)
    assert.equal(wantsColour({ isTTY: true, env: { NO_COLOR: '' } }), true)
  })

  it('is on with FORCE_COLOR wherever the output goes, and off with FORCE_COLOR=0 or false', () => {
    for (const value of ['', '1', '2', '3', 'true']) {
      assert.equal(wantsColour({ isTTY: false, env: { FORCE_COLOR: value } }), true, `FORCE_COLOR=${value}`)
    }
    for (const value of ['0', 'false']) {
      assert.equal(wantsColour({ isTTY: true, env: { FORCE_COLOR: value } }), false, `FORCE_COLOR=${value}`)
    }
  })

  it('lets FORCE_COLOR win over NO_COLOR', () => {
    assert.equal(wantsColour({ isTTY: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }), true)
  })

  it('is off on a dumb terminal', () => {
    assert.equal(wantsColour({ isTTY: true, env: { TERM: 'dumb' } }), false)
  })

  it('makes a plain table without colour, keeping the other style options', () => {
    const table = consoleTable({ head: ['lanes', 'msg/s'], style: { compact: true } }, false)
    table.push(['64', '1,000'])
    assert.deepEqual(table.options.style.head, [])
    assert.deepEqual(table.options.style.border, [])
    assert.equal(table.options.style.compact, true)
    assert.ok(!table.toString().includes(ESCAPE), 'no escape codes')
    assert.match(table.toString(), /lanes/)
  })

  it("keeps cli-table3's default colours with colour", () => {
    const table = consoleTable({ head: ['lanes'] }, true)
    assert.ok(table.options.style.head.length > 0)
    assert.ok(table.options.style.border.length > 0)
  })
})

import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { HAND_WRITTEN_END, HAND_WRITTEN_START, handWrittenPart, keepHandWritten } from '../../../bench/lib/hand-written.js'

const part = `${HAND_WRITTEN_START}\n\n## Headline figures\n\nWritten by hand.\n\n${HAND_WRITTEN_END}`
const generated = '# Benchmarks\n\nIntro.\n\n## On the embedded cluster\n\nNew figures.\n'

describe('a generated page with a part written by hand', () => {
  it('finds the part between the markers, markers included', () => {
    assert.equal(handWrittenPart(`# Old\n\n${part}\n\n## Old figures\n`), part)
    assert.equal(handWrittenPart('# No markers\n'), undefined)
    assert.equal(handWrittenPart(`${HAND_WRITTEN_START}\nno end`), undefined)
  })

  it('keeps the hand-written part of the previous page, before the first section of the new one', () => {
    const page = keepHandWritten(`# Benchmarks\n\nOld intro.\n\n${part}\n\n## On the embedded cluster\n\nOld figures.\n`, generated)
    assert.equal(page, `# Benchmarks\n\nIntro.\n\n${part}\n\n## On the embedded cluster\n\nNew figures.\n`)
  })

  it('is the generated page alone when there is no previous page or no part', () => {
    assert.equal(keepHandWritten(null, generated), generated)
    assert.equal(keepHandWritten('# Benchmarks\n\nOld.\n', generated), generated)
  })

  it('puts the part at the end of a page with no sections', () => {
    assert.equal(keepHandWritten(part, '# Benchmarks\n\nIntro.\n'), `# Benchmarks\n\nIntro.\n\n${part}\n`)
  })

  it('gives the same page when regenerated twice', () => {
    const once = keepHandWritten(`${part}\n`, generated)
    assert.equal(keepHandWritten(once, generated), once)
  })
})

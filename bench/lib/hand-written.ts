/**
 * A generated page with a part written by hand: docs/benchmarks.md is regenerated from
 * bench/results by bench/report.ts, and its headline figures and their reading are
 * written by hand between two markers. Regenerating keeps that part as it is and puts it
 * back before the generated page's first section.
 */

export const HAND_WRITTEN_START = '<!-- Written by hand: bench/report.ts keeps this part as it is when it regenerates the page. -->'
export const HAND_WRITTEN_END = '<!-- End of the part written by hand. -->'

/** The part of `page` between the markers, the markers included; undefined when it has none. */
export function handWrittenPart(page: string): string | undefined {
  const start = page.indexOf(HAND_WRITTEN_START)
  if (start < 0) return undefined
  const end = page.indexOf(HAND_WRITTEN_END, start)
  if (end < 0) return undefined
  return page.slice(start, end + HAND_WRITTEN_END.length)
}

/**
 * `generated` with the hand-written part of `previous` (the page as it was) placed before
 * its first second-level heading, or at its end when it has none. Without a previous page,
 * or one without the markers, `generated` as it is.
 */
export function keepHandWritten(previous: string | null, generated: string): string {
  const part = previous === null ? undefined : handWrittenPart(previous)
  if (part === undefined) return generated
  const at = generated.search(/^## /m)
  if (at < 0) return `${generated.trimEnd()}\n\n${part}\n`
  return `${generated.slice(0, at)}${part}\n\n${generated.slice(at)}`
}

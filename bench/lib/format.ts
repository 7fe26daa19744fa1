/** Number formatting shared by the console table and the generated document. */

export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '—'
  return Math.round(rate).toLocaleString('en-US')
}

export function formatRatio(value: number | null): string {
  if (value === null) return '—'
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`
}

export function formatPercent(value: number | null): string {
  if (value === null) return '—'
  return value < 0.1 ? `${(value * 100).toFixed(1)}%` : `${Math.round(value * 100)}%`
}

export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—'
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`
}

export function formatPass(pass: boolean | null): string {
  return pass === null ? 'not measured' : pass ? 'pass' : 'FAIL'
}

/** A Markdown table; `|` inside a cell is escaped. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escapeCell = (cell: string): string => cell.replaceAll('|', '\\|')
  const lines = [`| ${header.map(escapeCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.map(escapeCell).join(' | ')} |`)
  return lines.join('\n')
}

/** kvp `cpu` runs on SWEEP_LANES lanes by thread count, with speed-up over 1 thread. */

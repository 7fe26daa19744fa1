/** Percentiles by nearest rank over a sorted copy; fine for the ~10^5 samples a run collects. */

export interface Percentiles {
  samples: number
  p50: number
  p90: number
  p99: number
  max: number
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort()
  const at = (p: number): number => {
    if (sorted.length === 0) return Number.NaN
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
    return sorted[rank] ?? Number.NaN
  }
  return { samples: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) }
}

/** Seeded latencies (mulberry32), so a failing case can be replayed. */
export const seeded = (seed: number) => {
  let state = seed | 0
  return (): number => {
    state = (state + 0x6D2B79F5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` latencies in whole milliseconds, uniform in [0, max). */
export const uniformLatencies = (count: number, max: number, seed: number): Array<number> => {
  const next = seeded(seed)
  return Array.from({ length: count }, () => Math.floor(next() * max))
}

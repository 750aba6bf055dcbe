/**
 * A small seeded PRNG and the samplers the simulation draws from. Not for
 * cryptography: for reproducible workloads (same seed, same draws, on every
 * runtime, because it only uses 32-bit integer arithmetic and `Math.log`,
 * `Math.cos`, `Math.sqrt`, `Math.exp`).
 *
 * @internal
 */

/** A generator of floats uniform in [0, 1). */
export type Random = () => number

/** mulberry32: a 32-bit state generator, fast and good enough for workloads. */
export const mulberry32 = (seed: number): Random => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Derives the seed of an independent stream from `seed` and a stream
 * number (splitmix32's finaliser), so that e.g. drawing failures does not
 * shift the latency draws.
 */
export const deriveSeed = (seed: number, stream: number): number => {
  let z = (seed + Math.imul(stream, 0x9e3779b9)) >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  return (z ^ (z >>> 15)) >>> 0
}

/** A whole number uniform in [min, max). */
export const uniformInt = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min))

/** A standard normal draw (Box–Muller; `1 - u` keeps the logarithm finite). */
export const standardNormal = (random: Random): number =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())

/** A log-normal draw with the given median (`e^μ`) and shape `sigma`. */
export const logNormal = (random: Random, median: number, sigma: number): number =>
  median * Math.exp(sigma * standardNormal(random))

import { mulberry32, uniformInt } from "../../src/internal/random.ts"

/** `count` latencies in whole milliseconds, uniform in [0, max), seeded so that a failing case can be replayed. */
export const uniformLatencies = (count: number, max: number, seed: number): Array<number> => {
  const random = mulberry32(seed)
  return Array.from({ length: count }, () => uniformInt(random, 0, max))
}

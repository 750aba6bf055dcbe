import type { Ordered } from "../../src/index.ts"
import { fc } from "./line.ts"

/** No hedging, a fixed delay, or a quantile with a small `minSamples`: for the property and fault suites. */
export const hedgeOption: fc.Arbitrary<Ordered.Options<number>["hedge"]> = fc.option(
  fc.oneof(
    fc.integer({ min: 1, max: 15 }).map((after) => ({ after })),
    fc.record({ quantile: fc.double({ min: 0.05, max: 0.95, noNaN: true }), minSamples: fc.integer({ min: 1, max: 6 }) })
  ),
  { nil: undefined }
)

/**
 * The Kafka run's mutable completed offsets against the immutable
 * `Checkpoint` they replace on the hot path: the same committed offset, the
 * same offsets done above it and the same answers, after every completion.
 */
import { describe, expect, it } from "@effect/vitest"
import { fc } from "../utils/line.ts"
import * as Checkpoint from "../../src/Checkpoint.ts"
import { Progress } from "../../src/kafka/internal/progress.ts"

const scenario = fc.record({
  start: fc.integer({ min: 0, max: 1_000 }),
  // A restart's metadata: offsets done above the committed one, up to far past the ring's first size.
  restored: fc.array(fc.integer({ min: 1, max: 3_000 }), { maxLength: 40 }),
  // Completions, out of order, some repeated, some below the committed offset, some far above it.
  offsets: fc.array(fc.oneof(fc.integer({ min: -3, max: 300 }), fc.integer({ min: 900, max: 5_000 })), { maxLength: 300 })
})

describe("Kafka run progress", () => {
  it("matches Checkpoint after every completion, from a fresh start or a restored checkpoint", () => {
    fc.assert(
      fc.property(scenario, ({ offsets, restored, start }) => {
        let expected = restored.reduce((checkpoint, o) => Checkpoint.complete(checkpoint, start + o), Checkpoint.make(start))
        const progress = new Progress(expected)
        for (const o of offsets) {
          const offset = Math.max(0, start + o)
          expected = Checkpoint.complete(expected, offset)
          progress.complete(offset)
          expect(progress.toCheckpoint()).toEqual({ committed: expected.committed, above: [...expected.above] })
          expect(progress.above).toBe(expected.above.length)
          for (const probe of [offset - 1, offset, offset + 1, expected.committed + 1, expected.committed + 5_000]) {
            expect(progress.isCompleted(probe)).toBe(Checkpoint.isCompleted(expected, probe))
          }
        }
      })
    )
  })

  it("starts a partition nothing was committed for at its first record", () => {
    const progress = Progress.startingAt(40)
    expect([progress.committed, progress.isCompleted(39), progress.isCompleted(40)]).toEqual([39, true, false])
    progress.complete(41)
    progress.complete(40)
    expect(progress.toCheckpoint()).toEqual({ committed: 41, above: [] })
  })
})

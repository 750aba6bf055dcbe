import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Checkpoint } from "../../src/index.ts"
import { fc } from "../utils/line.ts"

/** The naive model: the set of completed offsets. */
const model = (start: number, done: ReadonlySet<number>) => {
  let committed = start - 1
  while (done.has(committed + 1)) committed++
  const above = [...done].filter((o) => o > committed + 1).sort((a, b) => a - b)
  return { committed, above }
}

const scenario = fc.record({
  start: fc.integer({ min: 0, max: 1_000 }),
  // Offsets relative to `start`, with repeats and some below it.
  offsets: fc.array(fc.integer({ min: -3, max: 120 }), { maxLength: 200 })
})

describe("Checkpoint", () => {
  it("matches the naive model after every completion, in any order", () => {
    fc.assert(
      fc.property(scenario, ({ offsets, start }) => {
        let checkpoint = Checkpoint.make(start)
        const done = new Set<number>()
        for (const relative of offsets) {
          const offset = start + relative
          checkpoint = Checkpoint.complete(checkpoint, offset)
          if (offset >= start) done.add(offset)
          const expected = model(start, done)
          expect(checkpoint.committed).toBe(expected.committed)
          expect(checkpoint.above).toEqual(expected.above)
        }
        for (let o = start - 3; o <= start + 121; o++) {
          expect(Checkpoint.isCompleted(checkpoint, o)).toBe(o < start || done.has(o))
        }
      }),
      { numRuns: 150 }
    )
  })

  it("encode then decode gives the same checkpoint, and the encoding is compact", () => {
    fc.assert(
      fc.property(scenario, ({ offsets, start }) => {
        const checkpoint = offsets.reduce((c, o) => Checkpoint.complete(c, start + o), Checkpoint.make(start))
        const encoded = Checkpoint.encode(checkpoint)
        expect(Effect.runSync(Checkpoint.decode(encoded))).toEqual(checkpoint)
        const span = checkpoint.above.length === 0 ? 0 : checkpoint.above[checkpoint.above.length - 1] - checkpoint.committed
        // One bit per offset of the span above `committed`, base64: 4 characters per 3 bytes.
        expect(encoded.length).toBeLessThanOrEqual(String(checkpoint.committed).length + 1 + Math.ceil(span / 6) + 1)
      }),
      { numRuns: 150 }
    )
  })

  it("encodes the bitset from committed + 2, least significant bit first", () => {
    const checkpoint = [0, 1, 3, 4, 9].reduce(Checkpoint.complete, Checkpoint.make())
    expect(checkpoint).toEqual({ committed: 1, above: [3, 4, 9] })
    // bits 0 (3), 1 (4) and 6 (9): 0b01000011 = 0x43 → "Qw"
    expect(Checkpoint.encode(checkpoint)).toBe("1:Qw")
    expect(Checkpoint.encode(Checkpoint.make(5))).toBe("4")
  })

  it("decode rejects malformed input with the reason", () => {
    const reason = (input: string) => Exit.match(Checkpoint.decode(input), { onFailure: (cause) => (Cause.squash(cause) as Error).message, onSuccess: () => "decoded" })
    expect(reason("x")).toBe(`Cannot decode checkpoint "x": the committed offset "x" is not a safe integer`)
    expect(reason("3:a+b")).toBe(`Cannot decode checkpoint "3:a+b": the bitset after \`:\` is not base64url`)
    expect(reason("99999999999999999999")).toContain("is not a safe integer")
    expect(reason("-1")).toBe("decoded")
  })

  it("rejects a bad start or offset naming it", () => {
    expect(() => Checkpoint.make(-1)).toThrow("Expected `start` to be an integer ≥ 0, got `-1` (number)")
    expect(() => Checkpoint.complete(Checkpoint.make(), 1.5)).toThrow("Expected `offset` to be a safe integer, got `1.5` (number)")
    expect(() => Checkpoint.isCompleted(Checkpoint.make(), NaN)).toThrow("Expected `offset` to be a safe integer, got `NaN` (number)")
  })
})

describe("Checkpoint: regressions", () => {
  it("encodes completions far above the committed offset exactly, and refuses a span no bitset can hold", () => {
    // Found in review: 32-bit bit operators wrapped, so 2^32 + 9 encoded as 9 (silently wrong)
    // and 2^31 + 5 threw a RangeError from the typed array.
    const near = Checkpoint.complete(Checkpoint.make(), 2 ** 20 + 5)
    expect(Effect.runSync(Checkpoint.decode(Checkpoint.encode(near)))).toEqual(near)
    const far = Checkpoint.complete(Checkpoint.make(), 2 ** 32 + 9)
    expect(() => Checkpoint.encode(far)).toThrow(
      "Expected `checkpoint.above` to be within 268435456 offsets past the committed one (one bit each), got `4294967305` (number)"
    )
  })
})

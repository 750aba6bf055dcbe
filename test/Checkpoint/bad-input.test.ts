/** The bad-input table (test/utils/bad-input.ts, docs/validation.md): Checkpoint. */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Exit } from "effect"
import { Checkpoint } from "../../src/index.ts"
import { describeGroups, type Group, INTEGER, NATURAL } from "../utils/bad-input.ts"

const checkpointMake: Group = {
  name: "Checkpoint.make",
  targets: [{ name: "Checkpoint.make", channel: "thrown", call: (start) => Checkpoint.make(start) }],
  base: 5,
  baseAccepted: true,
  fields: [{ path: "start", expected: "an integer ≥ 0", values: NATURAL, set: (start) => start }]
}

const checkpointOffsets: Group = {
  name: "Checkpoint offsets",
  targets: [
    { name: "Checkpoint.complete", channel: "thrown", call: (o) => Checkpoint.complete(Checkpoint.make(), o) },
    { name: "Checkpoint.complete (data-last)", channel: "thrown", call: (o) => Checkpoint.complete(o)(Checkpoint.make()) },
    { name: "Checkpoint.isCompleted", channel: "thrown", call: (o) => Checkpoint.isCompleted(Checkpoint.make(), o) },
    {
      name: "Checkpoint.isCompleted (data-last)",
      channel: "thrown",
      call: (o) => Checkpoint.isCompleted(o)(Checkpoint.make())
    }
  ],
  base: 3,
  baseAccepted: true,
  // Negative offsets are valid: below `committed`, they are already complete.
  fields: [{ path: "offset", expected: "a safe integer", values: INTEGER, set: (offset) => offset }]
}

describeGroups([checkpointMake, checkpointOffsets])

describe("bad input: typed refusals and regressions", () => {
  it("Checkpoint.decode fails with CheckpointDecodeError giving the input and the reason", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [5, "Cannot decode checkpoint 5: expected a string, got `5` (number)"],
      [null, "Cannot decode checkpoint null: expected a string, got `null` (null)"],
      [{ n: 1 }, "Cannot decode checkpoint {\"n\":1}: expected a string, got `{\"n\":1}` (object)"],
      ["", "Cannot decode checkpoint \"\": the committed offset \"\" is not a safe integer"],
      ["NaN", "Cannot decode checkpoint \"NaN\": the committed offset \"NaN\" is not a safe integer"],
      ["Infinity", "Cannot decode checkpoint \"Infinity\": the committed offset \"Infinity\" is not a safe integer"],
      ["1.5", "Cannot decode checkpoint \"1.5\": the committed offset \"1.5\" is not a safe integer"],
      [
        "9007199254740992",
        "Cannot decode checkpoint \"9007199254740992\": the committed offset \"9007199254740992\" is not a safe integer"
      ],
      ["3:Qw=", "Cannot decode checkpoint \"3:Qw=\": the bitset after `:` is not base64url"],
      ["3:A", "Cannot decode checkpoint \"3:A\": the bitset after `:` is not base64url"],
      // Found by this table: decode used to accept these.
      ["-2", "Cannot decode checkpoint \"-2\": the committed offset \"-2\" is below -1"],
      ["007", "Cannot decode checkpoint \"007\": not as `encode` writes it (\"7\")"],
      ["-0", "Cannot decode checkpoint \"-0\": not as `encode` writes it (\"0\")"],
      ["3:", "Cannot decode checkpoint \"3:\": not as `encode` writes it (\"3\")"],
      ["3:AA", "Cannot decode checkpoint \"3:AA\": not as `encode` writes it (\"3\")"]
    ]
    for (const [input, message] of cases) {
      const decoded = Checkpoint.decode(input as string)
      expect(Exit.isFailure(decoded) && Cause.squash(decoded.cause)).toMatchObject({ _tag: "CheckpointDecodeError", message })
    }
  })

  it("Checkpoint.decode still reads everything encode writes, including committed -1", () => {
    for (const offsets of [[], [0], [2], [0, 1, 3, 4, 9], [5, 40, 41]]) {
      const checkpoint = offsets.reduce(Checkpoint.complete, Checkpoint.make())
      expect(Checkpoint.decode(Checkpoint.encode(checkpoint))).toEqual(Exit.succeed(checkpoint))
    }
  })
})

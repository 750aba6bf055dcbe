/** The bad-input table (test/utils/bad-input.ts, docs/validation.md): Simulation.run, compare and workload. */
import { describe, expect, it } from "@effect/vitest"
import { Simulation } from "../../src/index.ts"
import {
  ARRAY,
  below,
  BOOLEAN,
  COUNT,
  describeDependencies,
  describeGroups,
  DURATION_FROM_ZERO,
  type Group,
  INTEGER,
  MISSING,
  NATURAL,
  NON_NEGATIVE,
  NULL,
  NUMBER,
  OBJECT,
  option,
  orderedFields,
  outcome,
  POSITIVE_INFINITY,
  required,
  STRING,
  type Target,
  tooLarge,
  without,
  ZERO
} from "../utils/bad-input.ts"

const simulationBase = { actions: 3, concurrency: 2 }
const simulationTargets: ReadonlyArray<Target> = [
  { name: "Simulation.run", channel: "defect", call: (o) => Simulation.run(o) },
  { name: "Simulation.compare", channel: "defect", call: (o) => Simulation.compare(o) },
  { name: "Simulation.workload", channel: "thrown", call: (o) => Simulation.workload(o) }
]
const latency = (model: unknown) => ({ ...simulationBase, latency: model })
const LATENCY_MODEL =
  "a Simulation.Latency (Latency.uniform(min, max), .logNormal(median, sigma), .fixed([…])) or a function (index) => Duration"

const simulation: Group = {
  name: "Simulation",
  targets: simulationTargets,
  base: simulationBase,
  baseAccepted: true,
  fields: [
    ...orderedFields(simulationBase, "an integer ≥ 1 or \"auto\""),
    {
      path: "options.actions",
      expected: "an integer ≥ 1",
      values: [...required(COUNT), tooLarge(2 ** 32)],
      set: option(simulationBase, "actions"),
      messages: {
        [tooLarge(2 ** 32).name]:
          "Expected `options.actions` to be an integer between 1 and 4294967295, got `4294967296` (number)"
      }
    },
    { path: "options.keys", expected: "an integer ≥ 1", values: COUNT, set: option(simulationBase, "keys") },
    {
      path: "options.keyConcurrency",
      expected: "an integer ≥ 1",
      values: COUNT,
      set: option({ ...simulationBase, keys: 2 }, "keyConcurrency")
    },
    {
      path: "options.latency",
      expected: "an object",
      values: [STRING, ARRAY, NULL, BOOLEAN, NUMBER, OBJECT],
      set: option(simulationBase, "latency"),
      messages: { [OBJECT.name]: `Expected \`options.latency\` to be ${LATENCY_MODEL}, got ${OBJECT.shown}` }
    },
    {
      path: "options.latency.min",
      expected: "an integer ≥ 0",
      values: NATURAL,
      set: (min) => latency(Simulation.Latency.uniform(min as number, 100))
    },
    {
      path: "options.latency.max",
      expected: "an integer > min (0)",
      values: COUNT,
      set: (max) => latency(Simulation.Latency.uniform(0, max as number))
    },
    {
      path: "options.latency.median",
      expected: "a finite number > 0",
      values: [...NON_NEGATIVE, ZERO],
      set: (median) => latency(Simulation.Latency.logNormal(median as number, 1))
    },
    {
      path: "options.latency.sigma",
      expected: "a finite number ≥ 0",
      values: NON_NEGATIVE,
      set: (sigma) => latency(Simulation.Latency.logNormal(10, sigma as number))
    },
    {
      path: "options.latency.durations",
      expected: "a non-empty array of durations",
      values: [STRING, OBJECT, NULL, BOOLEAN, { name: "empty array", value: [], shown: "`[]` (array)" }],
      set: (durations) => latency(Simulation.Latency.fixed(durations as ReadonlyArray<number>))
    },
    {
      path: "options.latency.durations[0]",
      expected: DURATION_FROM_ZERO,
      values: NON_NEGATIVE,
      set: (duration) => latency(Simulation.Latency.fixed([duration as number]))
    },
    {
      // What a latency function returns, per action (action 0 is drawn first).
      path: "options.latency(0)",
      expected: DURATION_FROM_ZERO,
      values: [...NON_NEGATIVE, MISSING],
      set: (duration) => latency(() => duration)
    },
    {
      path: "options.failures",
      expected: "a probability between 0 and 1",
      values: [...NON_NEGATIVE, { name: "above 1", value: 2, shown: "`2` (number)" }],
      set: option(simulationBase, "failures")
    },
    { path: "options.seed", expected: "an integer", values: INTEGER, set: option(simulationBase, "seed") }
  ]
}

const simulationWindows: Group = {
  name: "Simulation.compare windows",
  targets: [{ name: "Simulation.compare", channel: "defect", call: (o) => Simulation.compare(o) }],
  base: { ...simulationBase, windows: [2, Infinity] },
  baseAccepted: true,
  fields: [
    {
      path: "options.windows",
      expected: "a non-empty array",
      values: [STRING, OBJECT, NULL, BOOLEAN, { name: "empty array", value: [], shown: "`[]` (array)" }],
      set: option(simulationBase, "windows")
    },
    {
      path: "options.windows[1]",
      expected: "an integer ≥ concurrency (2), Infinity or \"auto\"",
      values: [...without(COUNT, POSITIVE_INFINITY), below(1)],
      set: (window) => ({ ...simulationBase, windows: [2, window] })
    }
  ]
}

describeGroups([simulation, simulationWindows])

describeDependencies([
  [
    simulationTargets,
    { ...simulationBase, order: "key" },
    "Expected `options.keys` to be an integer ≥ 1 when `options.order` is \"key\", got `undefined` (undefined)"
  ],
  [
    simulationTargets,
    { ...simulationBase, keyConcurrency: 2 },
    "Expected `options.keyConcurrency` to come with `options.keys`, got `2` (number) and no keys"
  ]
])

describe("bad input: user functions that throw", () => {
  const thrown = new Error("thrown by the caller's function")
  const raise = (): never => {
    throw thrown
  }

  it("Simulation.run and compare die with what a latency function throws; workload throws it", async () => {
    const options = { ...simulationBase, latency: raise }
    for (const target of simulationTargets) {
      expect(await outcome(() => target.call(options))).toEqual({ _tag: "Other", channel: target.channel, error: thrown })
    }
  })
})

describe("bad input: typed refusals and regressions", () => {
  it("Simulation with a log-normal model whose draws overflow dies naming options.latency instead of reporting NaN", async () => {
    const options = { ...simulationBase, latency: Simulation.Latency.logNormal(10, 1e300) }
    for (const target of simulationTargets) {
      const result = await outcome(() => target.call(options))
      expect(result._tag === "IllegalArgument" && result.channel).toBe(target.channel)
      expect(result._tag === "IllegalArgument" && result.message).toMatch(
        /^Expected `options\.latency` to be a model whose draws are finite \(action \d+ drew Infinity ms\), got `\{"_tag":"LogNormal","median":10,"sigma":1e\+300\}` \(object\)$/
      )
    }
  })
})

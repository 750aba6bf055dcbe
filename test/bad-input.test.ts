/**
 * The bad-input table: every public function and option, each class of bad
 * value that applies to it (wrong type, NaN, ±Infinity, negative, zero,
 * non-integer, too large, missing, empty), refused with the documented
 * error: `Cause.IllegalArgumentException` (thrown by a synchronous function,
 * the defect of an effect or stream) whose message names the field path and
 * shows the value with its type. The cases are generated from one table
 * (groups of targets sharing a valid base input, and fields with the classes
 * that apply); docs/validation.md lists it.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Logger, LogLevel, Stream } from "effect"
import { parseArgs } from "../examples/demo/args.ts"
import { makeWebHandler } from "../examples/edge/app.ts"
import { Checkpoint, Ordered, Sequencer, Simulation } from "../src/index.ts"
import type { Redis } from "ioredis"
import { consume, makeProducer } from "../src/redis/index.ts"
import {
  ARRAY,
  type BadValue,
  BOOLEAN,
  COUNT,
  DURATION,
  EMPTY,
  FUNCTION,
  INTEGER,
  LITERAL,
  MISSING,
  NAN,
  NATURAL,
  NEGATIVE,
  NON_NEGATIVE,
  NON_INTEGER,
  NULL,
  NUMBER,
  OBJECT,
  outcome,
  type Outcome,
  POSITIVE_INFINITY,
  RECORD,
  refusal,
  STRING,
  TEXT,
  tooLarge,
  WRONG_TYPES,
  ZERO
} from "./utils/bad-input.ts"

// ------------------------------------------------------------------ the table

/** A public function under test: takes the group's input, returns a value, an Effect or a Stream. */
interface Target {
  readonly name: string
  /** How it refuses: a synchronous function throws, an effect or stream dies. */
  readonly channel: "thrown" | "defect"
  readonly call: (input: any) => unknown
}

interface Field {
  /** As the message names it. */
  readonly path: string
  /** What the message says is expected. */
  readonly expected: string
  readonly values: ReadonlyArray<BadValue>
  /** The group's input with this field set to `value` (`undefined`: left out). */
  readonly set: (value: unknown) => unknown
  /** Full messages for values refused with another wording (by value name). */
  readonly messages?: Readonly<Record<string, string>>
}

interface Group {
  readonly name: string
  readonly targets: ReadonlyArray<Target>
  /** A valid input, accepted by every target; each case breaks one field of it. */
  readonly base: unknown
  /** Whether to check that the base input is accepted (false where it runs forever, e.g. a consumer). */
  readonly baseAccepted: boolean
  /** Other valid inputs: the documented forms, each accepted by every target. */
  readonly valid?: ReadonlyArray<unknown>
  readonly fields: ReadonlyArray<Field>
}

/** Sets (or, for `undefined`, removes) one key of a base object. */
const option = (base: object, key: string) => (value: unknown): unknown => {
  const out: Record<string, unknown> = { ...base }
  if (value === undefined) delete out[key]
  else out[key] = value
  return out
}

const required = (values: ReadonlyArray<BadValue>): ReadonlyArray<BadValue> => [...values, MISSING]
const without = (values: ReadonlyArray<BadValue>, ...excluded: ReadonlyArray<BadValue>) =>
  values.filter((v) => !excluded.includes(v))
const below = (value: number): BadValue => ({ name: `below the minimum (${value})`, value, shown: `\`${value}\` (number)` })

const DURATION_ABOVE_ZERO = "a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …)"
const DURATION_FROM_ZERO = "a finite duration ≥ 0 (milliseconds, \"1 second\", Duration.seconds(1), …)"

// ---------------------------------------------------------------- Ordered

const succeed = (n: number) => Effect.succeed(n)
const orderedTargets: ReadonlyArray<Target> = [
  { name: "Ordered.mapEffect", channel: "defect", call: (o) => Ordered.mapEffect(Stream.make(1, 2, 3), succeed, o) },
  {
    name: "Ordered.mapEffect (data-last)",
    channel: "defect",
    call: (o) => Stream.make(1, 2, 3).pipe(Ordered.mapEffect(succeed, o))
  },
  { name: "Ordered.forEach", channel: "defect", call: (o) => Ordered.forEach([1, 2, 3], succeed, o) },
  { name: "Ordered.forEach (data-last)", channel: "defect", call: (o) => Ordered.forEach(succeed, o)([1, 2, 3]) }
]

const orderedBase = { concurrency: 2 }
/** A quantile of 1 would never hedge: refused with the rest. */
const bad1: BadValue = { name: "one", value: 1, shown: "`1` (number)" }
const keyed = { concurrency: 2, key: (n: number) => n % 2 }

/**
 * The fields `Ordered` and `Simulation` share (Simulation hands them to
 * Ordered's validation; its concurrency is a number or "auto").
 */
const orderedFields = (base: object, concurrency: string): ReadonlyArray<Field> => [
  { path: "options", expected: "an object", values: RECORD, set: (v) => v },
  { path: "options.concurrency", expected: concurrency, values: required(COUNT), set: option(base, "concurrency") },
  {
    path: "options.window",
    expected: "an integer ≥ concurrency (2), Infinity or \"auto\"",
    values: [...without(COUNT, POSITIVE_INFINITY), below(1)],
    set: option(base, "window")
  },
  {
    path: "options.maxWindow",
    expected: "an integer ≥ concurrency (2)",
    values: [...COUNT, below(1)],
    set: option(base, "maxWindow")
  },
  {
    path: "options.order",
    expected: "one of \"total\", \"key\", \"none\"",
    values: LITERAL,
    set: option(base, "order")
  }
]

const ordered: Group = {
  name: "Ordered",
  targets: orderedTargets,
  base: orderedBase,
  baseAccepted: true,
  valid: [
    { concurrency: 1 },
    { concurrency: 3, window: 3 },
    { concurrency: 3, window: Infinity },
    { concurrency: 3, order: "none" },
    { concurrency: 3, key: (n: number) => n, order: "key", keyConcurrency: 2 },
    { concurrency: 3, timeout: "1 second" },
    { concurrency: 3, name: "orders" },
    { concurrency: 3, window: undefined, order: undefined, key: undefined, timeout: undefined },
    { concurrency: "unbounded", window: 1 },
    { concurrency: "inherit" },
    { concurrency: "inherit", window: 1 },
    { concurrency: 3, window: "auto", maxWindow: 3 },
    { concurrency: "unbounded", maxWindow: 10 },
    { concurrency: 3, hedge: { after: "50 millis" } },
    { concurrency: 3, hedge: { quantile: 0.95 } },
    { concurrency: 3, hedge: { quantile: 0.5, minSamples: 1 } }
  ],
  fields: [
    ...orderedFields(orderedBase, "an integer ≥ 1, \"auto\", \"unbounded\" or \"inherit\""),
    { path: "options.key", expected: "a function", values: FUNCTION, set: option(orderedBase, "key") },
    { path: "options.keyConcurrency", expected: "an integer ≥ 1", values: COUNT, set: option(keyed, "keyConcurrency") },
    { path: "options.timeout", expected: DURATION_ABOVE_ZERO, values: DURATION, set: option(orderedBase, "timeout") },
    { path: "options.hedge", expected: "an object", values: without(RECORD, MISSING), set: option(orderedBase, "hedge") },
    {
      path: "options.hedge.after",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: (after) => ({ concurrency: 2, hedge: { after } })
    },
    {
      path: "options.hedge.quantile",
      expected: "a number between 0 and 1 (both excluded)",
      values: [...WRONG_TYPES, NAN, POSITIVE_INFINITY, NEGATIVE, ZERO, bad1],
      set: (quantile) => ({ concurrency: 2, hedge: { quantile } })
    },
    {
      path: "options.hedge.minSamples",
      expected: "an integer ≥ 1",
      values: COUNT,
      set: (minSamples) => ({ concurrency: 2, hedge: { quantile: 0.9, minSamples } })
    },
    { path: "options.name", expected: "a non-empty string", values: TEXT, set: option(orderedBase, "name") },
    {
      // What `key` returns, checked per input (input 0 is the first admitted).
      path: "options.key(input 0)",
      expected: "a non-empty string or a number",
      values: [EMPTY, NAN, NULL, MISSING, OBJECT, BOOLEAN],
      set: (value) => ({ concurrency: 2, key: () => value })
    }
  ]
}

const orderedUnbounded: Group = {
  name: "Ordered, concurrency \"unbounded\"",
  targets: orderedTargets,
  base: { concurrency: "unbounded" },
  baseAccepted: true,
  fields: [{
    path: "options.window",
    expected: "an integer ≥ 1, Infinity or \"auto\"",
    values: without(COUNT, POSITIVE_INFINITY),
    set: option({ concurrency: "unbounded" }, "window")
  }, {
    path: "options.maxWindow",
    expected: "an integer ≥ 1",
    values: COUNT,
    set: option({ concurrency: "unbounded" }, "maxWindow")
  }]
}

const orderedForEach: Group = {
  name: "Ordered.forEach",
  targets: orderedTargets.filter((target) => target.name.startsWith("Ordered.forEach")),
  base: orderedBase,
  baseAccepted: true,
  valid: [{ concurrency: 2, discard: true }, { concurrency: 2, discard: false }],
  fields: [{
    path: "options.discard",
    expected: "a boolean",
    values: [STRING, OBJECT, NULL, NUMBER],
    set: option(orderedBase, "discard")
  }]
}

// -------------------------------------------------------------- Sequencer

const sequencerMake: Group = {
  name: "Sequencer.make",
  targets: [{ name: "Sequencer.make", channel: "defect", call: (o) => Effect.scoped(Sequencer.make(o)) }],
  base: { capacity: 4 },
  baseAccepted: true,
  valid: [
    { capacity: 1 },
    { capacity: 64, start: 1, gapTimeout: "1 second", onGap: "fail", idleKeyTimeout: 60_000 },
    { capacity: 2, maxKeys: Infinity, gapTimeout: 5, onGap: "skip" },
    { capacity: 2, start: undefined, gapTimeout: undefined, maxKeys: undefined },
    { capacity: 2, name: "reassembly" }
  ],
  fields: [
    { path: "options", expected: "an object", values: RECORD, set: (v) => v },
    {
      path: "options.capacity",
      expected: "an integer ≥ 1",
      values: [...required(COUNT), tooLarge(2 ** 31 + 1)],
      set: option({ capacity: 4 }, "capacity"),
      messages: {
        [tooLarge(2 ** 31 + 1).name]:
          "Expected `options.capacity` to be an integer between 1 and 2147483648, got `2147483649` (number)"
      }
    },
    { path: "options.start", expected: "an integer ≥ 0", values: NATURAL, set: option({ capacity: 4 }, "start") },
    {
      path: "options.gapTimeout",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: option({ capacity: 4 }, "gapTimeout")
    },
    {
      path: "options.onGap",
      expected: "one of \"skip\", \"fail\"",
      values: LITERAL,
      set: option({ capacity: 4, gapTimeout: 10 }, "onGap")
    },
    {
      path: "options.idleKeyTimeout",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: option({ capacity: 4 }, "idleKeyTimeout")
    },
    {
      path: "options.maxKeys",
      expected: "an integer ≥ 1 or Infinity",
      values: without(COUNT, POSITIVE_INFINITY),
      set: option({ capacity: 4 }, "maxKeys")
    },
    { path: "options.name", expected: "a non-empty string", values: TEXT, set: option({ capacity: 4 }, "name") }
  ]
}

/**
 * Runs `use` on a fresh sequencer (capacity 4) whose stream is drained by a
 * forked consumer. A refusal must leave it untouched (no key, nothing
 * buffered): otherwise the run dies with another defect than the refusal.
 */
const withSequencer = <A, E>(use: (sequencer: Sequencer.Sequencer<string>) => Effect.Effect<A, E>, start = 0) =>
  Effect.scoped(Effect.gen(function*() {
    const sequencer = yield* Sequencer.make<string>({ capacity: 4, start })
    yield* Effect.forkScoped(Stream.runDrain(sequencer.stream))
    return yield* Effect.catchAllDefect(use(sequencer), (defect) =>
      Effect.flatMap(sequencer.stats, (stats) =>
        Effect.die(stats.keys === 0 && stats.buffered === 0 ? defect : `half-applied: ${JSON.stringify(stats)}`)))
  }))

const KEY = "a non-empty string or a number (not NaN)"
const BAD_KEYS = [OBJECT, NULL, BOOLEAN, NAN, EMPTY, MISSING]
const offerBase = { key: "k", sequence: 0 }

const sequencerOffers: Group = {
  name: "Sequencer offers",
  targets: [
    { name: "offer", channel: "defect", call: (i) => withSequencer((s) => s.offer(i.key, i.sequence, "v")) },
    { name: "offerAwait", channel: "defect", call: (i) => withSequencer((s) => s.offerAwait(i.key, i.sequence, "v")) }
  ],
  base: offerBase,
  baseAccepted: true,
  fields: [
    { path: "key", expected: KEY, values: BAD_KEYS, set: (key) => ({ ...offerBase, key }) },
    {
      path: "sequence",
      expected: "an integer ≥ options.start (0)",
      values: required(NATURAL),
      set: (sequence) => ({ ...offerBase, sequence })
    }
  ]
}

const sequencerOffersAfterStart: Group = {
  name: "Sequencer offers, start 10",
  targets: [{ name: "offer", channel: "defect", call: (sequence) => withSequencer((s) => s.offer("k", sequence, "v"), 10) }],
  base: 10,
  baseAccepted: true,
  // Below start: invalid input, not a duplicate.
  fields: [{ path: "sequence", expected: "an integer ≥ options.start (10)", values: [below(9)], set: (sequence) => sequence }]
}

const sequencerNext: Group = {
  name: "Sequencer next",
  targets: [{ name: "next", channel: "defect", call: (key) => withSequencer((s) => s.next(key)) }],
  base: "k",
  baseAccepted: true,
  fields: [{ path: "key", expected: KEY, values: BAD_KEYS, set: (key) => key }]
}

// ------------------------------------------------------------- Simulation

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

// ------------------------------------------------------------- Checkpoint

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

// ------------------------------------------------------------------ redis

/** Passes the client check (it has `evalsha`) and fails every command: nothing here reaches a server. */
const offline = {
  evalsha: () => Promise.reject(new Error("offline")),
  xadd: () => Promise.reject(new Error("offline"))
} as unknown as Redis
const CLIENT = "an ioredis client (new Redis(…))"
const producerBase = { redis: offline, prefix: "p", partitions: 4 }

const producer: Group = {
  name: "redis makeProducer",
  targets: [{ name: "makeProducer", channel: "thrown", call: (o) => makeProducer(o) }],
  base: producerBase,
  baseAccepted: true,
  fields: [
    { path: "options", expected: "an object", values: RECORD, set: (v) => v },
    { path: "options.redis", expected: CLIENT, values: required(FUNCTION), set: option(producerBase, "redis") },
    { path: "options.prefix", expected: "a non-empty string", values: required(TEXT), set: option(producerBase, "prefix") },
    { path: "options.partitions", expected: "an integer ≥ 1", values: required(COUNT), set: option(producerBase, "partitions") },
    { path: "options.maxLen", expected: "an integer ≥ 1", values: COUNT, set: option(producerBase, "maxLen") }
  ]
}

const producerKeys: Group = {
  name: "redis producer keys",
  targets: [
    { name: "publish", channel: "defect", call: (key) => makeProducer(producerBase).publish(key, { n: 1 }) },
    { name: "partitionOf", channel: "thrown", call: (key) => makeProducer(producerBase).partitionOf(key) }
  ],
  base: "k",
  // publish's valid base reaches the (offline) client: checked below.
  baseAccepted: false,
  fields: [{ path: "key", expected: "a non-empty string", values: required(TEXT), set: (key) => key }]
}

const consumeBase = {
  redis: offline,
  prefix: "p",
  partitions: 2,
  group: "g",
  consumer: "c",
  concurrency: 2,
  process: () => Effect.void,
  commit: () => Effect.void
}
const consumeOption = (key: string) => option(consumeBase, key)

const consumer: Group = {
  name: "redis consume",
  targets: [{ name: "consume", channel: "defect", call: (o) => consume(o) }],
  base: consumeBase,
  // A consumer runs until interrupted.
  baseAccepted: false,
  fields: [
    { path: "options", expected: "an object", values: RECORD, set: (v) => v },
    { path: "options.redis", expected: CLIENT, values: required(FUNCTION), set: consumeOption("redis") },
    ...["prefix", "group", "consumer"].map((key): Field => ({
      path: `options.${key}`,
      expected: "a non-empty string",
      values: required(TEXT),
      set: consumeOption(key)
    })),
    { path: "options.partitions", expected: "an integer ≥ 1", values: required(COUNT), set: consumeOption("partitions") },
    {
      path: "options.concurrency",
      expected: "an integer ≥ 1 or \"auto\"",
      values: required(COUNT),
      set: consumeOption("concurrency")
    },
    ...["process", "commit"].map((key): Field => ({
      path: `options.${key}`,
      expected: "a function",
      values: required(FUNCTION),
      set: consumeOption(key)
    })),
    {
      // As Ordered's window, but always bounded: a stream may be longer than memory.
      path: "options.window",
      expected: "an integer ≥ concurrency (2) or \"auto\"",
      values: [...COUNT, below(1)],
      set: consumeOption("window")
    },
    {
      path: "options.maxWindow",
      expected: "an integer ≥ concurrency (2)",
      values: [...COUNT, below(1)],
      set: consumeOption("maxWindow")
    },
    { path: "options.schema", expected: "a Schema", values: [...WRONG_TYPES, NUMBER], set: consumeOption("schema") },
    { path: "options.timeout", expected: DURATION_ABOVE_ZERO, values: DURATION, set: consumeOption("timeout") },
    { path: "options.batchSize", expected: "an integer ≥ 1", values: COUNT, set: consumeOption("batchSize") },
    { path: "options.leaseTtl", expected: DURATION_ABOVE_ZERO, values: DURATION, set: consumeOption("leaseTtl") },
    { path: "options.pollInterval", expected: DURATION_ABOVE_ZERO, values: DURATION, set: consumeOption("pollInterval") },
    { path: "options.retry", expected: "a Schedule", values: [...WRONG_TYPES, NUMBER], set: consumeOption("retry") },
    {
      path: "options.poison",
      expected: "one of \"dead-letter\", \"halt-key\"",
      values: LITERAL,
      set: consumeOption("poison")
    },
    { path: "options.deadLetter", expected: "a non-empty string", values: TEXT, set: consumeOption("deadLetter") }
  ]
}

const groups: ReadonlyArray<Group> = [
  ordered,
  orderedUnbounded,
  orderedForEach,
  sequencerMake,
  sequencerOffers,
  sequencerOffersAfterStart,
  sequencerNext,
  simulation,
  simulationWindows,
  checkpointMake,
  checkpointOffsets,
  producer,
  producerKeys,
  consumer
]

for (const group of groups) {
  describe(`bad input: ${group.name}`, () => {
    for (const target of group.targets) {
      if (group.baseAccepted) {
        it(`${target.name} accepts the valid base input`, async () => {
          expect(await outcome(() => target.call(group.base))).toEqual({ _tag: "Accepted" })
        })
      }
      for (const input of group.valid ?? []) {
        it(`${target.name} accepts ${JSON.stringify(input)}`, async () => {
          expect(await outcome(() => target.call(input))).toEqual({ _tag: "Accepted" })
        })
      }
      for (const field of group.fields) {
        for (const value of field.values) {
          it(`${target.name}: ${field.path} ${value.name}`, async () => {
            const message = field.messages?.[value.name]
            const expected: Outcome = message === undefined
              ? refusal(target.channel, field.path, field.expected, value)
              : { _tag: "IllegalArgument", channel: target.channel, message }
            expect(await outcome(() => target.call(field.set(value.value)))).toEqual(expected)
          })
        }
      }
    }
  })
}

// ------------------------------------------------- fields that need another

/** A field left out although another option needs it. */
const dependencies: ReadonlyArray<readonly [ReadonlyArray<Target>, unknown, string]> = [
  [
    orderedTargets,
    { concurrency: 2, order: "key" },
    "Expected `options.key` to be a function when `options.order` is \"key\", got `undefined` (undefined)"
  ],
  [
    orderedTargets,
    { concurrency: 2, keyConcurrency: 2 },
    "Expected `options.keyConcurrency` to come with `options.key`, got `2` (number) and no key"
  ],
  [
    orderedTargets,
    { concurrency: 2, window: 8, maxWindow: 16 },
    "Expected `options.maxWindow` to come with `options.window: \"auto\"`, got `16` (number) and window `8` (number)"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: { after: 5, minSamples: 3 } },
    "Expected `options.hedge.minSamples` to come with `options.hedge.quantile`, got `3` (number) and no quantile"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: { after: 5, quantile: 0.9 } },
    "Expected `options.hedge` to be one of { after } or { quantile, minSamples? }, not both, got `{\"after\":5,\"quantile\":0.9}` (object)"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: {} },
    "Expected `options.hedge` to be { after: Duration } or { quantile: number, minSamples?: number }, got `{}` (object)"
  ],
  [
    sequencerMake.targets,
    { capacity: 4, onGap: "skip" },
    "Expected `options.onGap` to come with `options.gapTimeout`, got `\"skip\"` (string) and no gapTimeout"
  ],
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
]

describe("bad input: an option needs another", () => {
  for (const [targets, input, message] of dependencies) {
    for (const target of targets) {
      it(`${target.name}: ${message}`, async () => {
        expect(await outcome(() => target.call(input))).toEqual({
          _tag: "IllegalArgument",
          channel: target.channel,
          message
        })
      })
    }
  }
})

// ------------------------------------------------ user functions that throw

describe("bad input: user functions that throw", () => {
  const thrown = new Error("thrown by the caller's function")
  const raise = (): never => {
    throw thrown
  }
  const inOrders = [
    { concurrency: 2 },
    { concurrency: 2, order: "none" as const },
    { concurrency: 2, order: "key" as const, key: (n: number) => n % 2 }
  ]
  const calls: ReadonlyArray<readonly [string, (options: Ordered.Options<number>) => unknown]> = [
    ["Ordered.mapEffect, f throws", (o) => Ordered.mapEffect(Stream.make(1, 2, 3), raise, o)],
    ["Ordered.forEach, f throws", (o) => Ordered.forEach([1, 2, 3], raise, o)],
    ["Ordered.mapEffect, key throws", (o) => Ordered.mapEffect(Stream.make(1, 2, 3), succeed, { ...o, key: raise })],
    ["Ordered.forEach, key throws", (o) => Ordered.forEach([1, 2, 3], succeed, { ...o, key: raise })]
  ]
  for (const [name, call] of calls) {
    for (const options of inOrders) {
      it(`${name} (order ${options.order ?? "total"}): dies with the thrown error itself`, async () => {
        expect(await outcome(() => call(options))).toEqual({ _tag: "Other", channel: "defect", error: thrown })
      })
    }
  }

  it("Simulation.run and compare die with what a latency function throws; workload throws it", async () => {
    const options = { ...simulationBase, latency: raise }
    for (const target of simulationTargets) {
      expect(await outcome(() => target.call(options))).toEqual({ _tag: "Other", channel: target.channel, error: thrown })
    }
  })
})

// ------------------------------------------------ refusals outside the table

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
      expect(Either.isLeft(decoded) && decoded.left._tag).toBe("CheckpointDecodeError")
      expect(Either.match(decoded, { onLeft: (e) => e.message, onRight: () => "decoded" })).toBe(message)
    }
  })

  it("Checkpoint.decode still reads everything encode writes, including committed -1", () => {
    for (const offsets of [[], [0], [2], [0, 1, 3, 4, 9], [5, 40, 41]]) {
      const checkpoint = offsets.reduce(Checkpoint.complete, Checkpoint.make())
      expect(Checkpoint.decode(Checkpoint.encode(checkpoint))).toEqual(Either.right(checkpoint))
    }
  })

  it("Sequencer capacity above 2^31 is refused up front instead of a RangeError on a far-ahead offer", async () => {
    // The ring of a key with capacity c holds up to the next power of two ≥ c slots: 2^31 still fits an array.
    expect(await outcome(() => Effect.scoped(Sequencer.make({ capacity: 2 ** 31 })))).toEqual({ _tag: "Accepted" })
    expect(await outcome(() => Effect.scoped(Sequencer.make({ capacity: 2 ** 40 })))).toEqual({
      _tag: "IllegalArgument",
      channel: "defect",
      message: "Expected `options.capacity` to be an integer between 1 and 2147483648, got `1099511627776` (number)"
    })
  })

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

  it("redis publish with a valid key reaches the client (here: an offline one, a typed RedisError)", async () => {
    const result = await outcome(() => makeProducer(producerBase).publish("k", { n: 1 }))
    expect(result._tag === "Other" && result.channel).toBe("failure")
    expect(result._tag === "Other" && (result.error as { _tag: string })._tag).toBe("RedisError")
  })

  it("redis consume accepts the valid base options (runs until interrupted; the offline client only fails commands)", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.timeoutTo(consume(consumeBase as any) as Effect.Effect<never>, {
        duration: "20 millis",
        onTimeout: () => "still running",
        onSuccess: () => "ended"
      }).pipe(Logger.withMinimumLogLevel(LogLevel.None))
    )
    expect(exit).toMatchObject({ _tag: "Success", value: "still running" })
  })
})

// ------------------------------------------------------------- demo flags

describe("bad input: demo CLI flags (parseArgs; npm start exits 2 with this message, see test/demo.test.ts)", () => {
  const texts = ["abc", "", "NaN", "Infinity", "-Infinity", "-1", "0", "1.5", "9007199254740992"]
  const flags: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["actions", "an integer ≥ 1", texts],
    ["concurrency", "an integer ≥ 1", texts],
    ["keys", "an integer ≥ 1", texts],
    ["rows", "an integer ≥ 1", texts],
    ["seed", "an integer", texts.filter((t) => t !== "-1" && t !== "0")],
    ["window", "an integer ≥ concurrency (100), inf or auto", [...texts.filter((t) => t !== "Infinity"), "99"]]
  ]
  for (const [flag, expected, values] of flags) {
    for (const text of values) {
      it(`--${flag}=${JSON.stringify(text)}`, () => {
        expect(() => parseArgs([`--${flag}=${text}`])).toThrow(`Invalid value for --${flag}: expected ${expected}, got "${text}"`)
      })
    }
    it(`--${flag} without a value`, () => {
      expect(() => parseArgs([`--${flag}`])).toThrow(`Missing value for --${flag}`)
    })
  }
  const latencies: ReadonlyArray<readonly [string, string]> = [
    ["uniform:-1:10", "expected an integer ≥ 0, got \"-1\""],
    ["uniform:1.5:10", "expected an integer ≥ 0, got \"1.5\""],
    ["uniform:5:5", "expected an integer ≥ 6, got \"5\""],
    ["uniform:0:Infinity", "expected an integer ≥ 1, got \"Infinity\""],
    ["lognormal:0:1", "expected a number > 0, got \"0\""],
    ["lognormal:NaN:1", "expected a number > 0, got \"NaN\""],
    ["lognormal:20:-1", "expected a number ≥ 0, got \"-1\""],
    ["lognormal:20:Infinity", "expected a number ≥ 0, got \"Infinity\""],
    ["uniform:0", "expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got \"uniform:0\""],
    ["", "expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got \"\""]
  ]
  for (const [spec, message] of latencies) {
    it(`--latency=${JSON.stringify(spec)}`, () => {
      expect(() => parseArgs([`--latency=${spec}`])).toThrow(`Invalid value for --latency: ${message}`)
    })
  }
})

// ------------------------------------------------------------- HTTP routes

describe("bad input: edge example HTTP routes (in process; more in test/edge-handler.test.ts)", () => {
  const { dispose, handler } = makeWebHandler({
    runtime: "test",
    concurrency: 4,
    latencyMs: 0,
    maxBodyBytes: 64 * 1024,
    maxActions: 10,
    sequencerCapacity: 8,
    gapTimeoutMs: 200
  })
  afterAll(dispose)
  const post = async (path: string, body: string) => {
    const response = await handler(new Request(`http://edge.test${path}`, { method: "POST", body }))
    return { status: response.status, type: response.headers.get("content-type"), body: await response.json() }
  }

  it("a valid keyed action is applied (the base every case breaks)", async () => {
    expect(await post("/keys/base/actions/0", JSON.stringify({ type: "cancel" }))).toMatchObject({
      status: 200,
      body: { key: "base", sequence: 0, type: "cancel" }
    })
  })

  for (const text of ["abc", "NaN", "Infinity", "-Infinity", "-1", "1.5", "9007199254740992", "1e3", "%201"]) {
    it(`POST /keys/:key/actions/${text}: 400 naming the sequence parameter and its value`, async () => {
      expect(await post(`/keys/k/actions/${text}`, JSON.stringify({ type: "cancel" }))).toEqual({
        status: 400,
        type: "application/json",
        body: {
          error: `Expected path parameter sequence to be an integer ≥ 0, got ${JSON.stringify(decodeURIComponent(text))}`,
          parameter: "sequence"
        }
      })
    })
  }

  for (const path of ["/keys//actions/0", "/keys/k/actions/"]) {
    it(`POST ${path} (empty key or sequence): 404`, async () => {
      expect(await post(path, JSON.stringify({ type: "cancel" }))).toEqual({
        status: 404,
        type: "application/json",
        body: { error: `No route for POST ${path}` }
      })
    })
  }

  const place = { type: "place", payload: { side: "buy", price: 10, quantity: 1 } }
  const withPayload = (field: string, value: unknown) => ({ ...place, payload: { ...place.payload, [field]: value } })
  const withoutPayload = (field: string) => {
    const { [field]: _, ...payload } = place.payload as Record<string, unknown>
    return { ...place, payload }
  }
  /** Body → the field path a 422 names and what its message shows (the value, or that it is missing). */
  const bodies: ReadonlyArray<readonly [string, unknown, ReadonlyArray<string>, string]> = [
    ...(["7", null, true, {}, -1, 0] as const).map((v) =>
      [`price ${JSON.stringify(v)}`, withPayload("price", v), ["payload", "price"], `actual ${JSON.stringify(v)}`] as const
    ),
    ...(["7", null, -1, 0, 1.5] as const).map((v) =>
      [`quantity ${JSON.stringify(v)}`, withPayload("quantity", v), ["payload", "quantity"], `actual ${JSON.stringify(v)}`] as const
    ),
    ["quantity missing", withoutPayload("quantity"), ["payload", "quantity"], "is missing"],
    ["side empty", withPayload("side", ""), ["payload", "side"], "actual \"\""],
    ["side unknown", withPayload("side", "up"), ["payload", "side"], "actual \"up\""],
    ["type missing", { payload: place.payload }, ["type"], "is missing"],
    ...(["7", -1, 1.5, 60_001] as const).map((v) =>
      [`latencyMs ${JSON.stringify(v)}`, { type: "cancel", latencyMs: v }, ["latencyMs"], `actual ${JSON.stringify(v)}`] as const
    ),
    ["an unknown field", { type: "cancel", extra: 1 }, ["extra"], "is unexpected"],
    ...([null, 42, "x"] as const).map((v) => [`body ${JSON.stringify(v)}`, v, [], `actual ${JSON.stringify(v)}`] as const)
  ]
  for (const [name, body, path, shown] of bodies) {
    it(`POST /keys/:key/actions/0 with ${name}: 422 naming the field path and the value`, async () => {
      const response = await post("/keys/k/actions/0", JSON.stringify(body))
      expect(response).toMatchObject({ status: 422, type: "application/json", body: { error: "Invalid action", path } })
      expect(response.body.message).toContain(shown)
    })
  }

  it("NaN is not JSON: 400 malformed JSON", async () => {
    const response = await post("/keys/k/actions/0", "{\"type\":\"place\",\"payload\":{\"side\":\"buy\",\"price\":NaN,\"quantity\":1}}")
    expect(response.status).toBe(400)
    expect(response.body.error).toMatch(/^Malformed JSON: /)
  })

  for (const order of ["", "sideways", "TOTAL"]) {
    it(`POST /actions?order=${order}: 400 naming the order parameter and its value`, async () => {
      expect(await post(`/actions?order=${order}`, JSON.stringify({ key: "a", type: "cancel" }) + "\n")).toEqual({
        status: 400,
        type: "application/json",
        body: {
          error: `Expected query parameter order to be "total", "key" or "none", got ${JSON.stringify(order)}`,
          parameter: "order"
        }
      })
    })
  }

  it("POST /actions with an empty key on line 2: 422 naming the line and the field", async () => {
    const response = await post("/actions", [{ key: "a", type: "cancel" }, { key: "", type: "cancel" }].map((a) => JSON.stringify(a)).join("\n"))
    expect(response).toMatchObject({ status: 422, body: { error: "Invalid action", line: 2, path: ["key"] } })
    expect(response.body.message).toContain("actual \"\"")
  })
})

// ------------------------------------------------------------ defects found

describe("regressions: defects this table found in Ordered, fixed", () => {
  const expectRefusal = async (call: () => unknown, path: string, expected: string, value: BadValue) =>
    expect(await outcome(call)).toEqual(refusal("defect", path, expected, value))

  // Was: `f` was not validated; the engine calls it and dies with
  // `TypeError: this.f is not a function`, which names neither the argument nor the value.
  it("Ordered.mapEffect / forEach: f not a function is refused naming `f`", async () => {
    for (const value of FUNCTION) {
      await expectRefusal(() => Ordered.forEach([1], value.value as any, { concurrency: 1 }), "f", "a function", value)
      await expectRefusal(
        () => Ordered.mapEffect(Stream.make(1), value.value as any, { concurrency: 1 }),
        "f",
        "a function",
        value
      )
    }
  })

  // Was: what `f` returns was used as an Effect unchecked; a
  // non-Effect dies with Effect's "Not a valid effect: 42", naming neither `f` nor the input.
  it("Ordered: f returning a non-Effect is refused naming f and the input", async () => {
    const result = await outcome(() => Ordered.forEach([1], (() => 42) as any, { concurrency: 1 }))
    expect(result._tag).toBe("IllegalArgument")
    expect(result._tag === "IllegalArgument" && result.message).toContain("`f(input 0)`")
    expect(result._tag === "IllegalArgument" && result.message).toContain("`42` (number)")
  })

  // Was: a non-iterable died with a TypeError
  // ("iterable[Symbol.iterator] is not a function", "undefined is not iterable").
  it("Ordered.forEach: a non-iterable input is refused naming it", async () => {
    for (const value of [NUMBER, OBJECT, NULL, MISSING]) {
      const result = await outcome(() => Ordered.forEach(value.value as any, succeed, { concurrency: 1 }))
      expect(result._tag).toBe("IllegalArgument")
      expect(result._tag === "IllegalArgument" && result.message).toContain(value.shown)
    }
  })

  // Was: `dual(3, …)` read a call with the options left out,
  // forEach(items, f), as the data-last form and returns a function instead of an Effect.
  it("Ordered.forEach / mapEffect: options left out in the data-first form are refused", async () => {
    expect(await outcome(() => (Ordered.forEach as any)([1], succeed))).toEqual(
      refusal("defect", "options", "an object", MISSING)
    )
    expect(await outcome(() => (Ordered.mapEffect as any)(Stream.make(1), succeed))).toEqual(
      refusal("defect", "options", "an object", MISSING)
    )
  })

})

describe("regressions: defects this table found in the Redis helpers, fixed", () => {
  it("redis partitionOf / streamKey / deadLetterKey refuse bad arguments", async () => {
    const { deadLetterKey, partitionOf, streamKey } = await import("../src/redis/index.ts")
    expect(await outcome(() => partitionOf("a", 0))).toEqual(refusal("thrown", "partitions", "an integer ≥ 1", ZERO))
    expect(await outcome(() => partitionOf(NUMBER.value as any, 4))).toEqual(refusal("thrown", "key", "a non-empty string", NUMBER))
    expect(await outcome(() => streamKey("", 1))).toEqual(refusal("thrown", "prefix", "a non-empty string", EMPTY))
    expect(await outcome(() => streamKey("p", 1.5))).toEqual(refusal("thrown", "partition", "an integer ≥ 0", NON_INTEGER))
    expect(await outcome(() => deadLetterKey("p", ""))).toEqual(refusal("thrown", "group", "a non-empty string", EMPTY))
  })

  it("redis publish refuses an action JSON cannot encode, naming `action` and the value", async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const refused = [
      [undefined, "a value JSON can encode", "`undefined` (undefined)"],
      [() => 1, "a value JSON can encode", "`[Function]` (function)"],
      [1n, "a value JSON can encode (Do not know how to serialize a BigInt)", "`1n` (bigint)"]
    ] as const
    for (const [action, expected, shown] of refused) {
      expect(await outcome(() => makeProducer(producerBase).publish("k", action))).toEqual({
        _tag: "IllegalArgument",
        channel: "defect",
        message: `Expected \`action\` to be ${expected}, got ${shown}`
      })
    }
    const result = await outcome(() => makeProducer(producerBase).publish("k", cyclic))
    expect(result._tag === "IllegalArgument" && result.message).toMatch(
      /^Expected `action` to be a value JSON can encode \(Converting circular structure to JSON[^]*\), got `\[object Object\]` \(object\)$/
    )
  })

  it("redis consume refuses maxWindow beside a fixed window", async () => {
    expect(await outcome(() => consume({ ...consumeBase, window: 8, maxWindow: 16 } as any))).toEqual({
      _tag: "IllegalArgument",
      channel: "defect",
      message: "Expected `options.maxWindow` to come with `options.window: \"auto\"`, got `16` (number) and window `8` (number)"
    })
  })
})

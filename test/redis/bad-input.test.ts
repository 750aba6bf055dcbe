/** The bad-input table (test/utils/bad-input.ts, docs/validation.md): effect-ordered/redis. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { Redis } from "ioredis"
import { consume, makeProducer } from "../../src/redis/index.ts"
import { failureOf, isTimeoutError, withLogging } from "../utils/line.ts"
import {
  below,
  COUNT,
  describeGroups,
  DURATION,
  DURATION_ABOVE_ZERO,
  EMPTY,
  type Field,
  FUNCTION,
  type Group,
  LITERAL,
  NON_INTEGER,
  NUMBER,
  option,
  outcome,
  RECORD,
  refusal,
  required,
  TEXT,
  WRONG_TYPES,
  ZERO
} from "../utils/bad-input.ts"

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

describeGroups([producer, producerKeys, consumer])

describe("bad input: typed refusals and regressions", () => {
  it("redis publish with a valid key reaches the client (here: an offline one, a typed RedisError)", async () => {
    const result = await outcome(() => makeProducer(producerBase).publish("k", { n: 1 }))
    expect(result._tag === "Other" && result.channel).toBe("failure")
    expect(result._tag === "Other" && (result.error as { _tag: string })._tag).toBe("RedisError")
  })

  it("redis consume accepts the valid base options (runs until interrupted; the offline client only fails commands)", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.timeout(consume(consumeBase as any) as Effect.Effect<never>, "20 millis").pipe(withLogging({ minimum: "None" }))
    )
    // Still running: the one failure is the timeout's own, neither an end nor an error of consume.
    const error = exit._tag === "Failure" ? Option.getOrUndefined(failureOf(exit.cause)) : "ended"
    expect(isTimeoutError(error)).toBe(true)
  })
})

describe("regressions: defects this table found in the Redis helpers, fixed", () => {
  it("redis partitionOf / streamKey / deadLetterKey refuse bad arguments", async () => {
    const { deadLetterKey, partitionOf, streamKey } = await import("../../src/redis/index.ts")
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

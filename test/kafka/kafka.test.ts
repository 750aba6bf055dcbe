import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Metric, Schedule, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Admin, AssignerProtocol, Kafka, type KafkaMessage, logLevel, type Producer } from "kafkajs"
import * as Checkpoint from "../../src/Checkpoint.ts"
import { consume, type ConsumeOptions, makeProducer, type Record, skippedRecords } from "../../src/kafka/index.ts"
import { type KafkaBroker, startKafka } from "./broker.ts"
import type { ConsumerConfig } from "./consumer.ts"
import { audit, checkpointOf, sampleOffsets, uncovered } from "./offsets.ts"
import { type Action, appendMark, type CommitLine, load, producerOptions, readSink, replay, workload } from "./sink.ts"
import { waitFor } from "../redis/server.ts"
import { type Child, spawnScript } from "../utils/child.ts"
import { lowestMean, queuedDownstream } from "../utils/gauge.ts"
import { IllegalArgumentError, line } from "../utils/line.ts"

let broker: KafkaBroker
let kafka: Kafka
let admin: Admin
let producer: Producer
let dir: string
const children: Array<Child> = []

beforeAll(async () => {
  broker = await startKafka()
  kafka = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
  admin = kafka.admin()
  producer = kafka.producer(producerOptions)
  await Promise.all([admin.connect(), producer.connect()])
  dir = mkdtempSync(join(tmpdir(), "kafka-sink-"))
}, 300_000)

afterAll(async () => {
  for (const child of children) child.process.kill("SIGKILL")
  await Promise.all(children.map((child) => child.exited))
  await Promise.allSettled([admin?.disconnect(), producer?.disconnect()])
  await broker?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 60_000)

/** Creates `topic`; the broker's metadata may lag behind the creation for a moment. */
const createTopic = async (topic: string, partitions: number) => {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false })
  await waitFor(`${topic} with a leader for each partition`, async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    return topics[0].partitions.length === partitions && topics[0].partitions.every((p) => p.leader >= 0)
  })
}

/** Every message of `topic` from the start, once `count` have arrived. */
const readTopic = async (topic: string, count: number): Promise<Array<KafkaMessage>> => {
  const reader = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 })
  const messages: Array<KafkaMessage> = []
  await reader.connect()
  await reader.subscribe({ topics: [topic], fromBeginning: true })
  await reader.run({ eachMessage: async ({ message }) => void messages.push(message) })
  try {
    await waitFor(`${count} messages in ${topic}`, async () => messages.length >= count, 30_000)
  } finally {
    await reader.disconnect()
  }
  return messages
}

/** Runs a consumer in this process until the returned stop is called. */
const inProcess = <A, B, E1, E2, I>(options: ConsumeOptions<A, B, E1, never, E2, never, I>) => {
  const fiber = Effect.runFork(consume(options))
  return { fiber, stop: () => Effect.runPromise(Fiber.interrupt(fiber)) }
}

/** What each test consumer shares: short sessions and commit intervals, so rebalances are quick. */
const fast = { sessionTimeout: 3000, heartbeatInterval: 300, commitInterval: 100, drainTimeout: 1000 } as const

const committedOffsets = async (group: string, topic: string) =>
  (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions

describe("effect-ordered/kafka options", () => {
  const base = {
    brokers: ["127.0.0.1:9092"],
    topic: "t",
    group: "g",
    concurrency: 4,
    process: () => Effect.void,
    commit: () => Effect.void
  }
  const dies = (options: unknown, message: string) => {
    const exit = Effect.runSyncExit(consume(options as ConsumeOptions<unknown, unknown, never, never, never, never>))
    expect(Exit.isFailure(exit)).toBe(true)
    const defect = Cause.squash((exit as Exit.Failure<never, unknown>).cause)
    expect(defect).toBeInstanceOf(IllegalArgumentError)
    expect((defect as Error).message).toBe(message)
  }

  it("consume dies with IllegalArgumentException naming the option", () => {
    dies({ ...base, concurrency: 0 }, "Expected `options.concurrency` to be an integer ≥ 1 or \"auto\", got `0` (number)")
    dies({ ...base, brokers: [] }, "Expected `options.brokers` to be a non-empty array of \"host:port\" strings, got `[]` (array)")
    dies({ ...base, topic: "" }, "Expected `options.topic` to be a non-empty string, got `\"\"` (string)")
    dies({ ...base, window: 2 }, "Expected `options.window` to be an integer ≥ concurrency (4) or \"auto\", got `2` (number)")
    // Always bounded: a topic may be longer than memory.
    dies(
      { ...base, window: Infinity },
      "Expected `options.window` to be an integer ≥ concurrency (4) or \"auto\", got `Infinity` (number)"
    )
    dies({ ...base, maxWindow: 2 }, "Expected `options.maxWindow` to be an integer ≥ concurrency (4), got `2` (number)")
    dies(
      { ...base, window: 8, maxWindow: 16 },
      "Expected `options.maxWindow` to come with `options.window: \"auto\"`, got `16` (number) and window `8` (number)"
    )
    dies(
      { ...base, concurrency: "auto", maxConcurrency: 0 },
      "Expected `options.maxConcurrency` to be an integer ≥ 1, got `0` (number)"
    )
    dies(
      { ...base, concurrency: "auto", minConcurrency: 8, maxConcurrency: 4 },
      "Expected `options.minConcurrency` to be an integer between 1 and 4, got `8` (number)"
    )
    dies(
      { ...base, maxConcurrency: 8 },
      "Expected `options.maxConcurrency` to come with `options.concurrency: \"auto\"`, got `8` (number) and concurrency `4` (number)"
    )
    dies({ ...base, order: "offset" }, "Expected `options.order` to be one of \"key\", \"partition\", \"none\", got `\"offset\"` (string)")
    dies({ ...base, poison: "skip" }, "Expected `options.poison` to be one of \"dead-letter\", \"halt-key\", got `\"skip\"` (string)")
    dies({ ...base, retry: 3 }, "Expected `options.retry` to be a Schedule, got `3` (number)")
    dies({ ...base, schema: {} }, "Expected `options.schema` to be a Schema, got `{}` (object)")
    dies({ ...base, sessionTimeout: 1000, heartbeatInterval: 1000 }, "Expected `options.heartbeatInterval` to be below options.sessionTimeout (1000 ms), got `1000` (number)")
    dies(
      { ...base, commitInterval: -1 },
      "Expected `options.commitInterval` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `-1` (number)"
    )
  })

  it("makeProducer throws IllegalArgumentException naming the option; publish dies for an empty key", () => {
    expect(() => makeProducer({ brokers: ["localhost"], topic: "t" })).toThrow(
      "Expected `options.brokers` to be a non-empty array of \"host:port\" strings, got `[\"localhost\"]` (array)"
    )
    expect(() => makeProducer({ brokers: ["127.0.0.1:1"], topic: 7 as never })).toThrow(
      "Expected `options.topic` to be a non-empty string, got `7` (number)"
    )
    const producer = makeProducer({ brokers: ["127.0.0.1:1"], topic: "t" })
    const exit = Effect.runSyncExit(producer.publish("", {}))
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(IllegalArgumentError)
  })
})

describe("effect-ordered/kafka on a real broker", () => {
  it("dead-letters what fails after its retries and what does not decode, with the record's headers; the keys move on", async () => {
    const topic = "dead-letters"
    await createTopic(topic, 2)
    await createTopic(`${topic}.dlq`, 1)
    const publisher = makeProducer<unknown>({ brokers: broker.brokers, topic })
    const sends: Array<[string, unknown]> = [
      ["a", { seq: 1 }],
      ["a", { seq: 2, fail: true }],
      ["a", { seq: 3 }],
      ["b", { seq: 1 }],
      ["b", { seq: "two" }], // does not match the schema
      ["b", { seq: 3 }]
    ]
    for (const [key, action] of sends) await Effect.runPromise(publisher.publish(key, action))
    // Not JSON at all.
    await producer.send({ topic, messages: [{ key: "c", value: "{not json" }] })
    await Effect.runPromise(publisher.disconnect)

    const committed: Array<string> = []
    const attempts = new Map<string, number>()
    const consumer = inProcess({
      ...fast,
      brokers: broker.brokers,
      topic,
      group: "dlq",
      consumer: "dlq-consumer",
      concurrency: 4,
      schema: Schema.Struct({ seq: Schema.Number, fail: Schema.optional(Schema.Boolean) }),
      retry: Schedule.recurs(2),
      process: (action, record) =>
        Effect.suspend(() => {
          attempts.set(`${record.key}${action.seq}`, (attempts.get(`${record.key}${action.seq}`) ?? 0) + 1)
          return action.fail ? Effect.fail("refused") : Effect.succeed(action.seq)
        }),
      commit: (seq, _action, record) => Effect.sync(() => void committed.push(`${record.key}${seq}`))
    })
    try {
      const letters = await readTopic(`${topic}.dlq`, 3)
      await waitFor("the good actions committed", async () => committed.length === 4)
      expect(committed.filter((c) => c.startsWith("a"))).toEqual(["a1", "a3"])
      expect(committed.filter((c) => c.startsWith("b"))).toEqual(["b1", "b3"])
      expect(attempts.get("a2")).toBe(3)

      const headers = (m: KafkaMessage) =>
        Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]))
      const byKey = new Map(letters.map((m) => [m.key!.toString(), m]))
      expect(letters).toHaveLength(3)
      expect(headers(byKey.get("a")!)).toMatchObject({ error: "\"refused\"", attempts: "3", topic, consumer: "dlq-consumer" })
      expect(headers(byKey.get("b")!)).toMatchObject({ attempts: "0", consumer: "dlq-consumer" })
      expect(headers(byKey.get("b")!).error).toContain("Expected number")
      expect(headers(byKey.get("c")!)).toMatchObject({ attempts: "0" })
      // The parser's own message, naming where the value stops being JSON.
      expect(headers(byKey.get("c")!).error).toContain("JSON at position 1")
      expect(byKey.get("c")!.value!.toString()).toBe("{not json")
      // The original partition and offset, as the topic has them; the group's offset commit (every
      // `commitInterval`, after the sink) moves past each letter: dead-lettered records are finished ones.
      const committedPast = async () => {
        const offsets = await committedOffsets("dlq", topic)
        return letters.every((letter) =>
          Number(headers(letter).offset) <
            Number(offsets.find((p) => p.partition === Number(headers(letter).partition))!.offset)
        )
      }
      await waitFor("the group's offsets committed past the dead letters", committedPast)
    } finally {
      await consumer.stop()
    }
  })

  it("halt-key: a poison record stops its key (later records never committed) and holds the committed offset below it", async () => {
    const topic = "halt-key"
    await createTopic(topic, 1)
    await producer.send({
      topic,
      messages: [["a", 1], ["b", 1], ["a", 2], ["b", 2], ["a", 3], ["b", 3]].map(([key, seq]) => ({
        key: String(key),
        value: JSON.stringify({ seq })
      }))
    })
    const committed: Array<string> = []
    const consumer = inProcess({
      ...fast,
      brokers: broker.brokers,
      topic,
      group: "halt",
      concurrency: 4,
      poison: "halt-key",
      retry: Schedule.recurs(1),
      process: (action: Action, record: Record) =>
        record.key === "a" && action.seq === 2 ? Effect.fail("poison") : Effect.succeed(action.seq),
      commit: (seq, _action, record) => Effect.sync(() => void committed.push(`${record.key}${seq}`))
    })
    try {
      await waitFor("b committed", async () => committed.includes("b3"))
      // a2 is at offset 2: the committed offset stays there, with b's later records done above it.
      await waitFor("offset 2 committed with b2 and b3 done above it", async () => {
        const [p] = await committedOffsets("halt", topic)
        const decoded = Checkpoint.decode(p.metadata ?? "")
        return p.offset === "2" && decoded._tag === "Success" && decoded.value.above.join() === "3,5"
      })
      expect(committed.sort()).toEqual(["a1", "b1", "b2", "b3"])
    } finally {
      await consumer.stop()
    }
  })

  it("a restart skips the records the commit metadata marks done above the committed offset", async () => {
    const topic = "restart"
    await createTopic(topic, 1)
    // Offset 0 (key "slow") never finishes in the first run; offsets 1..99 do.
    await producer.send({
      topic,
      messages: Array.from({ length: 100 }, (_, i) => ({ key: i === 0 ? "slow" : `k${i}`, value: JSON.stringify({ seq: 1 }) }))
    })
    const options = { ...fast, brokers: broker.brokers, topic, group: "restart", concurrency: 100, window: 200 }
    const first: Array<number> = []
    const run1 = inProcess({
      ...options,
      process: (_action: Action, record: Record) => record.offset === 0 ? Effect.never : Effect.succeed(record.offset),
      commit: (offset: number) => Effect.sync(() => void first.push(offset))
    })
    await waitFor("offset 0 committed with 1..99 done above it", async () => {
      const [p] = await committedOffsets("restart", topic)
      const decoded = Checkpoint.decode(p.metadata ?? "")
      return p.offset === "0" && decoded._tag === "Success" && decoded.value.above.length === 99
    })
    await run1.stop()
    expect(first).toHaveLength(99)

    const skippedBefore = (await Effect.runPromise(Metric.value(skippedRecords))).count
    const second: Array<number> = []
    const run2 = inProcess({
      ...options,
      process: (_action: Action, record: Record) => Effect.succeed(record.offset),
      commit: (offset: number) => Effect.sync(() => void second.push(offset))
    })
    try {
      await waitFor("offset 0 processed", async () => second.length > 0)
      await waitFor("everything committed", async () => (await committedOffsets("restart", topic))[0].offset === "100")
      expect(second).toEqual([0])
      expect((await Effect.runPromise(Metric.value(skippedRecords))).count - skippedBefore).toBe(99)
    } finally {
      await run2.stop()
    }
  })
})

describe("effect-ordered/kafka window and concurrency \"auto\"", () => {
  /** What a consumer committed, per key in the order of its commits. */
  const seqsOf = (committed: ReadonlyArray<string>, key: string) =>
    committed.filter((c) => c.startsWith(`${key}#`)).map((c) => Number(c.split("#")[1]))

  it("window \"auto\" (the default, or given with maxWindow) grows past its start while one key's records fill it", async () => {
    // 30 records of a key whose first action is stuck, then 100 of other keys,
    // concurrency 2: a fixed window of 3 × 2 holds only stuck records, so the
    // others could not start before the stuck action ends. "auto" grows up to
    // maxWindow (40 here; 128 × 2 by default) and lets them through.
    const stuck = Array.from({ length: 30 }, (_, i) => ({ key: "stuck", action: { seq: i + 1 } }))
    const others = Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 10}`, action: { seq: Math.floor(i / 10) + 1 } }))
    const release = Effect.runSync(Deferred.make<void>())
    const runAuto = async (topic: string, window: { readonly window?: "auto"; readonly maxWindow?: number }) => {
      await createTopic(topic, 1)
      await load(producer, topic, [...stuck, ...others])
      const committed: Array<string> = []
      const consumer = inProcess({
        ...fast, brokers: broker.brokers, topic, group: topic, concurrency: 2, ...window,
        process: (action: Action, record: Record) =>
          record.key === "stuck" && action.seq === 1 ? Effect.as(Deferred.await(release), action.seq) : Effect.succeed(action.seq),
        commit: (seq, _action, record) => Effect.sync(() => void committed.push(`${record.key}#${seq}`))
      })
      return { committed, consumer }
    }
    const runs = [await runAuto("auto-window", { window: "auto", maxWindow: 40 }), await runAuto("auto-window-default", {})]
    try {
      for (const { committed } of runs) {
        await waitFor("every other key's actions committed while the stuck one runs", async () => committed.length === 100, 15_000)
        expect(seqsOf(committed, "stuck")).toEqual([])
      }
      Effect.runSync(Deferred.succeed(release, undefined))
      for (const { committed } of runs) {
        await waitFor("everything committed", async () => committed.length === 130)
        // Per key in log order.
        expect(seqsOf(committed, "stuck")).toEqual(stuck.map(({ action }) => action.seq))
        expect(seqsOf(committed, "k3")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      }
    } finally {
      await Promise.all(runs.map(({ consumer }) => consumer.stop()))
    }
  })

  it("a record with an empty key, as one without a key, is ordered with nothing", async () => {
    const topic = "keyless"
    await createTopic(topic, 1)
    await producer.send({
      topic,
      messages: [{ key: "", value: "{\"seq\":1}" }, { key: "", value: "{\"seq\":2}" }, { key: null, value: "{\"seq\":3}" }]
    })
    const release = Effect.runSync(Deferred.make<void>())
    const committed: Array<string> = []
    const consumer = inProcess({
      ...fast, brokers: broker.brokers, topic, group: topic, concurrency: 2,
      process: (action: Action) => action.seq === 1 ? Effect.as(Deferred.await(release), action.seq) : Effect.succeed(action.seq),
      commit: (seq, _action, record) => Effect.sync(() => void committed.push(`${JSON.stringify(record.key)}#${seq}`))
    })
    try {
      // Behind a stuck record with the same (empty) key, and keys shown as they came.
      await waitFor("the records after the stuck one committed", async () => committed.length === 2)
      expect(committed.sort()).toEqual(["\"\"#2", "null#3"])
      Effect.runSync(Deferred.succeed(release, undefined))
      await waitFor("the stuck one committed", async () => committed.length === 3)
    } finally {
      await consumer.stop()
    }
  })

  it("concurrency \"auto\" backs off when the downstream queues; every record once, per key in log order", async () => {
    // A downstream that serves 4 calls at once: the others queue, and their latency shows it.
    const topic = "auto-concurrency"
    await createTopic(topic, 1)
    const records = Array.from({ length: 1500 }, (_, i) => ({ key: `k${i % 20}`, action: { seq: Math.floor(i / 20) + 1 } }))
    await load(producer, topic, records)
    // Calls in flight as each call starts: with a fixed 16 it stays near 16 (20 keys are always ready).
    const downstream = queuedDownstream(4, 2)
    const { state } = downstream
    const committed: Array<string> = []
    const consumer = inProcess({
      ...fast, brokers: broker.brokers, topic, group: topic, concurrency: "auto", maxConcurrency: 16,
      process: (action: Action) => downstream.call(action.seq),
      commit: (seq, _action, record) => Effect.sync(() => void committed.push(`${record.key}#${seq}`))
    })
    try {
      // Generous: one run at load average 10 passed 30 s; on a timeout the counts tell a stall from a slow run.
      await waitFor("every record committed", async () => committed.length === records.length, 60_000).catch((e) => {
        throw new Error(`${e.message}: ${committed.length} committed, ${state.atStart.length} calls, ${state.inFlight} in flight`)
      })
      for (let k = 0; k < 20; k++) expect(seqsOf(committed, `k${k}`)).toEqual(Array.from({ length: 75 }, (_, i) => i + 1))
      expect(state.peak).toBeLessThanOrEqual(16)
      // It backs off: some 100 calls in a row ran at a mean below 12 (a fixed 16 stays near 15).
      expect(lowestMean(state.atStart, 100), "the lowest mean in flight over 100 calls in a row").toBeLessThan(12)
    } finally {
      await consumer.stop()
    }
  }, 90_000)
})

describe("effect-ordered/kafka consumers across processes", () => {
  const P = 8
  /** A test's consumers, its sink, its offset sampler, and waits that print the consumers' logs when they time out. */
  const scenario = async (topic: string, partitions: number, config: { readonly sessionTimeoutMs: number }) => {
    await createTopic(topic, partitions)
    const sink = join(dir, `${topic}.jsonl`)
    // A fixed window of 48: the duplicate bounds below count windows (an "auto" one could grow).
    const base = {
      brokers: broker.brokers, topic, group: topic, sink, concurrency: 16, window: 48, maxLatencyMs: 5, commitIntervalMs: 100,
      ...config
    }
    const sampler = sampleOffsets(admin, topic, topic)
    const start = (name: string) => {
      const child = spawnScript(name, "test/kafka/consumer.ts", { ...base, consumer: name } satisfies ConsumerConfig, line)
      children.push(child)
      return child
    }
    const wait = (what: string, condition: () => Promise<boolean>, ms = 90_000) =>
      waitFor(what, condition, ms).catch((e: Error) => {
        const stats = replay(sink)
        const logs = children.map((c) => `--- ${c.name}\n${c.output().slice(-2000)}`).join("\n")
        throw new Error(`${e.message}\napplied ${stats.applied}, duplicates ${stats.duplicates}, gaps ${stats.gaps.length}\n${logs}`)
      })
    /** The group's state and the partitions per member (client id). */
    const describe = async () => {
      const { groups } = await admin.describeGroups([topic])
      const owned: { [consumer: string]: Array<number> } = {}
      for (const member of groups[0]?.members ?? []) {
        const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
        owned[member.clientId] = Object.values(decoded?.assignment ?? {}).flat()
      }
      return { state: groups[0]?.state, owned }
    }
    const assignment = async () => (await describe()).owned
    /**
     * Exactly `members` share every partition, each holding some, in a stable group. While a rebalance is under way
     * the group already lists a joining member, with no partitions, next to the old owners of them all: work
     * loaded then may all be done before the newcomer is given any.
     */
    const balanced = (members: ReadonlyArray<string>) =>
      wait(`${members.join(", ")} sharing ${partitions} partitions`, async () => {
        const { owned, state } = await describe()
        return state === "Stable" && Object.keys(owned).sort().join() === [...members].sort().join() &&
          Object.values(owned).every((held) => held.length > 0) &&
          Object.values(owned).flat().length === partitions
      })
    /** `name` committed to the sink (after `mark`, when given). */
    const committedSince = (name: string, mark?: string) => {
      const lines = readSink(sink)
      const at = mark === undefined ? -1 : lines.findIndex((l) => "mark" in l && l.mark === mark)
      return lines.slice(at + 1).some((l) => "consumer" in l && l.consumer === name)
    }
    /** Every action applied once per key in order, committed offsets never decreasing, no committed work redone. */
    const settled = async (expected: { [key: string]: number }, count: number, excused?: (line: CommitLine) => boolean) => {
      await wait("every action applied", async () => replay(sink).applied === count)
      await sampler.stop()
      const stats = replay(sink)
      expect(stats.gaps).toEqual([])
      expect(stats.last).toEqual(expected)
      expect(sampler.decreases).toEqual([])
      const audited = audit(sink, sampler.samples, excused)
      expect(audited.redoneAfterCommit).toEqual([])
      expect(audited.duplicates).toBe(stats.duplicates)
      return audited
    }
    return { sink, start, wait, assignment, balanced, committedSince, settled }
  }

  it("a consumer stopped past its session and continued: offsets never go back, its stale run stops writing, it works again once rejoined, nothing lost", async () => {
    const s = await scenario("pause", 6, { sessionTimeoutMs: 4000 })
    const [, victim] = [s.start("s1"), s.start("s2"), s.start("s3")]
    await s.balanced(["s1", "s2", "s3"])
    const { actions, expected } = workload(6000, 200)
    await load(producer, "pause", actions.slice(0, 3000))
    await s.wait("a quarter applied by all three", async () => replay(s.sink).applied >= 1500 && s.committedSince("s2"))
    const held = (await s.assignment()).s2
    victim.process.kill("SIGSTOP")
    appendMark(s.sink, "stop")
    // Work for its partitions while it is stopped: by now the first 3000 may all be done (a fast consumer finishes
    // its share between two polls of the wait above), and s1 and s3 would have nothing of s2's to commit.
    await load(producer, "pause", actions.slice(3000, 4500))
    // Its session expires; s1 and s3 take its partitions and commit there.
    await s.balanced(["s1", "s3"])
    await s.wait("s1 and s3 committing s2's partitions", async () =>
      readSink(s.sink).some((l) => "consumer" in l && l.consumer !== "s2" && held.includes(l.partition) && l.at > Date.now() - 1000))
    victim.process.kill("SIGCONT")
    appendMark(s.sink, "cont")
    await s.balanced(["s1", "s2", "s3"])
    // s2 learns its session is lost from the group's refusal of a commit, or from KafkaJS rejoining under a new
    // member id, whichever comes first; it logs the moment. What its stale runs wrote after SIGCONT and before
    // then is not audited against commits (they could not know); nothing after it may redo committed work.
    const lostLine = /timestamp=(\S+) level=WARN .*(session is lost|after a lost session)/
    await s.wait("s2 reporting its lost session", async () => lostLine.test(victim.output()))
    const lostAt = Date.parse(lostLine.exec(victim.output())![1])
    const cont = readSink(s.sink).find((l) => "mark" in l && l.mark === "cont")!.at
    const stale = (l: CommitLine) => l.consumer === "s2" && l.at >= cont && l.at <= lostAt
    // Loaded once s2 holds partitions again (balanced above): some of it is s2's to do.
    await load(producer, "pause", actions.slice(4500))
    const audited = await s.settled(expected, actions.length, stale)
    const rejoinedWork = readSink(s.sink).filter((l) => "consumer" in l && l.consumer === "s2" && l.at > lostAt).length
    expect(rejoinedWork).toBeGreaterThan(0)
    const staleWrites = readSink(s.sink).filter((l): l is CommitLine => "key" in l && stale(l)).length
    // Resumed after a silence past half its session, its writes wait for the group's answer: at most the commits
    // already past the fence when it stopped, up to `concurrency` (16) per partition. Without that wait it wrote
    // what it held before the refusal came (up to 589 seen, of its windows and queues).
    expect(staleWrites).toBeLessThanOrEqual(held.length * 16)
    console.log(`SIGSTOP: ${actions.length} applied, ${audited.duplicates} duplicates (${audited.redoneOf("s2")} of s2's work), s2 held ${held}, ${staleWrites} of its commits after SIGCONT and before it learned its session was lost (${lostAt - cont} ms), ${rejoinedWork} commits by s2 after it rejoined`)
  }, 150_000)

  it("kill -9, a member joining and one leaving with SIGTERM in one run: duplicates only of work the group had not committed", async () => {
    const s = await scenario("churn", P, { sessionTimeoutMs: 6000 })
    const [k1, victim] = [s.start("k1"), s.start("k2"), s.start("k3")]
    await s.balanced(["k1", "k2", "k3"])
    const { actions, expected } = workload(8000, 200)
    await load(producer, "churn", actions.slice(0, 4000))
    await s.wait("a sixth applied by all three", async () => replay(s.sink).applied >= 1300 && s.committedSince("k2"))
    const held = (await s.assignment()).k2
    const killAt = Date.now()
    victim.process.kill("SIGKILL")
    await victim.exited
    // Nobody else owns its partitions until its session expires: the group's commits are its last.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const [after] = await admin.fetchOffsets({ groupId: "churn", topics: ["churn"] })
    const victimCheckpoints = new Map(after.partitions.map((p) => [p.partition, checkpointOf(p.offset, p.metadata)]))
    await s.balanced(["k1", "k3"])
    s.start("k4")
    appendMark(s.sink, "join")
    await s.balanced(["k1", "k3", "k4"])
    await load(producer, "churn", actions.slice(4000))
    await s.wait("k4 committing", async () => s.committedSince("k4", "join"))
    k1.process.kill("SIGTERM")
    expect(await k1.exited).toBe(0)
    await s.balanced(["k3", "k4"])
    const audited = await s.settled(expected, actions.length)
    // The victim's share: exactly its sink commits the group's last commits do not cover, each redone once.
    const victimBound = uncovered(s.sink, "k2", held, victimCheckpoints)
    const victimRedone = audited.redoneOf("k2", killAt, held)
    expect(victimRedone).toBe(victimBound)
    // The rest comes from the rebalances: work in flight, at most a window per partition each.
    const rest = audited.duplicates - victimRedone
    expect(rest).toBeLessThanOrEqual(3 * P * 48)
    console.log(`churn: ${actions.length} applied, ${audited.duplicates} duplicates: ${victimRedone} of the victim's (its uncommitted sink commits: ${victimBound}), ${rest} from rebalances`)
  }, 150_000)
})

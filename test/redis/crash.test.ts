import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeProducer } from "../../src/redis/index.ts"
import { countBy, leaseHolders, outstanding } from "./children.ts"
import type { ConsumerConfig } from "./consumer.ts"
import { random, redis, server, spawn, spawned, useRedis } from "./fixture.ts"
import { type Action, sink, workload } from "./sink.ts"
import { waitFor } from "../utils/waitFor.ts"

useRedis()

const P = 8

describe("Redis Streams consumers across processes", () => {
  it("kill -9 of a consumer mid-way: every action committed, per-key order kept, nothing lost", async () => {
    const base: Omit<ConsumerConfig, "consumer"> = {
      url: server.url,
      prefix: "crash",
      partitions: P,
      group: "g",
      sink: "crash-sink",
      concurrency: 8,
      maxLatencyMs: 4,
      leaseTtlMs: 1500
    }
    const start = (name: string) => spawn({ ...base, consumer: name })
    const holders = () => leaseHolders(redis, "crash", "g", P)
    const out = sink(redis, "crash-sink")
    const diagnostics = () => spawned().map((c) => `--- ${c.name}\n${c.output().slice(-3000)}`).join("\n")
    const waitOrExplain = (what: string, condition: () => Promise<boolean>, timeoutMs?: number) =>
      waitFor(what, condition, timeoutMs).catch(async (e) => {
        throw new Error(`${e.message}\n${JSON.stringify(await out.stats())}\n${diagnostics()}`)
      })

    const [, victim] = [start("c1"), start("c2"), start("c3")]
    // Balanced before the load arrives: ceil(8 / 3) = 3 each at most, all 8 owned.
    await waitOrExplain("3 consumers sharing 8 partitions", async () => {
      const counts = countBy(await holders())
      return Object.keys(counts).length === 3 && Object.values(counts).every((n) => n <= 3) &&
        Object.values(counts).reduce((a, b) => a + b) === P
    })

    const { actions, expected } = workload(10_000, 200, random)
    const producer = makeProducer<Action>({ redis, prefix: "crash", partitions: P })
    await Effect.runPromise(
      Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 64, discard: true })
    )

    await waitOrExplain("a third of the actions applied", async () => (await out.stats()).applied >= 3_000)
    expect((await holders()).filter((h) => h === "c2").length).toBeGreaterThan(0)
    victim.process.kill("SIGKILL")
    await victim.exited
    start("c4")

    await waitOrExplain("every action applied", async () => (await out.stats()).applied === 10_000, 60_000)
    // The newcomer got a fair share: the two survivors gave partitions up.
    await waitOrExplain("c4 owning partitions", async () => (await holders()).includes("c4"))
    await waitOrExplain("every entry acknowledged", async () => (await outstanding(redis, "crash", "g", P)) === 0)

    const stats = await out.stats()
    expect(stats.gaps).toBe(0)
    expect(stats.log).toEqual([])
    expect(await out.last()).toEqual(expected)
    expect(await redis.xlen("crash:g:dead-letter")).toBe(0)
    console.log(`crash test: ${stats.applied} applied, ${stats.duplicates} duplicates`)
  }, 90_000)
})

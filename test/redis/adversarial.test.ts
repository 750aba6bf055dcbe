import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeProducer } from "../../src/redis/index.ts"
import { countBy, leaseHolders, outstanding } from "./children.ts"
import type { ConsumerConfig } from "./consumer.ts"
import { random, redis, server, spawn, spawned, useRedis } from "./fixture.ts"
import { type Action, sink, workload } from "./sink.ts"
import { waitFor } from "../utils/waitFor.ts"

/**
 * Consumer processes treated badly: stopped (SIGSTOP) past their lease and
 * continued, killed with SIGKILL again and again. The sink is the fenced
 * one: it refuses a write whose fence is below one it has seen, and counts
 * a stale write that reached it anyway.
 */
useRedis()

/** `P` partitions: a multiple of the consumer count, so that balanced means every consumer owns some. */
const scenario = (name: string, P: number, config: Partial<ConsumerConfig>) => {
  const base: Omit<ConsumerConfig, "consumer"> = {
    url: server.url, prefix: name, partitions: P, group: "g", sink: `${name}-sink`,
    concurrency: 16, maxLatencyMs: 4, leaseTtlMs: 1000, fenced: true, ...config
  }
  const start = (consumer: string) => spawn({ ...base, consumer })
  const out = sink(redis, `${name}-sink`)
  const holders = () => leaseHolders(redis, name, "g", P)
  const explain = (what: string, condition: () => Promise<boolean>, timeoutMs?: number) =>
    waitFor(what, condition, timeoutMs).catch(async (e) => {
      const logs = spawned().map((c) => `--- ${c.name}\n${c.output().slice(-2000)}`).join("\n")
      throw new Error(`${e.message}\n${JSON.stringify(await out.stats())}\n${logs}`)
    })
  const balanced = (consumers: number) =>
    explain(`${consumers} consumers sharing ${P} partitions`, async () => {
      const counts = countBy(await holders())
      return Object.keys(counts).length === consumers && Object.values(counts).every((n) => n === P / consumers)
    })
  const publish = async (count: number, keys: number) => {
    const { actions, expected } = workload(count, keys, random)
    const producer = makeProducer<Action>({ redis, prefix: name, partitions: P })
    await Effect.runPromise(
      Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 64, discard: true })
    )
    return expected
  }
  /** Everything applied and acknowledged, per key in order, no stale write applied. */
  const settled = async (count: number, expected: Record<string, number>) => {
    await explain("every action applied", async () => (await out.stats()).applied === count, 60_000)
    await explain("every entry acknowledged", async () => (await outstanding(redis, name, "g", P)) === 0)
    const stats = await out.stats()
    expect(stats.log).toEqual([])
    expect(stats.gaps).toBe(0)
    expect(stats.stale).toBe(0)
    expect(await out.last()).toEqual(expected)
    return stats
  }
  return { start, out, holders, explain, balanced, publish, settled }
}

describe("Redis Streams consumers treated badly", () => {
  it("a consumer paused past its lease and continued: no write of the stale owner is applied, no key's commit moves back", async () => {
    // Slow actions, many in flight: when the paused consumer resumes, timers of
    // actions it started long ago fire at once and release results to commit.
    const s = scenario("pause", 6, { maxLatencyMs: 300 })
    const [, victim] = [s.start("p1"), s.start("p2"), s.start("p3")]
    await s.balanced(3)
    // Every key's last write, sampled throughout: it never moves back (a late
    // commit of the paused owner refused, not landing over the new owner's).
    const sampler = s.out.sampleWrites(20)
    const expected = await s.publish(800, 40)
    await s.explain("some actions applied", async () => (await s.out.stats()).applied >= 100)
    const owned = (await s.holders()).flatMap((h, p) => (h === "p2" ? [p] : []))
    expect(owned.length).toBeGreaterThan(0)
    victim.process.kill("SIGSTOP")
    // Its leases expire; the others take its partitions and commit there.
    await s.explain("p2's partitions taken over", async () => {
      const holders = await s.holders()
      return owned.every((p) => holders[p] !== null && holders[p] !== "p2")
    })
    const atTakeover = (await s.out.stats()).applied
    await s.explain("the new owners committing", async () => (await s.out.stats()).applied >= atTakeover + 50)
    victim.process.kill("SIGCONT")
    const stats = await s.settled(800, expected)
    const writes = await sampler.stop()
    expect(writes.backwards).toEqual([])
    expect(writes.samples).toBeGreaterThan(10)
    await s.explain("p2 reporting why it stopped", async () => /partition \d stopped: lease of partition/.test(victim.output()))
    console.log(
      `pause test: ${stats.applied} applied, ${stats.duplicates} duplicates, ${stats.refused} stale writes refused, ` +
        `${writes.samples} samples of the keys' last writes`
    )
  }, 90_000)

  it("kill -9 in a loop, batched commits: every action applied once in order, nothing lost", async () => {
    const s = scenario("loop", 4, { commit: "batch" })
    let generation = 0
    const live = [s.start(`k${generation++}`), s.start(`k${generation++}`)]
    await s.balanced(2)
    const expected = await s.publish(4_000, 100)
    for (let round = 1; round <= 3; round++) {
      await s.explain(`${round * 800} actions applied`, async () => (await s.out.stats()).applied >= round * 800)
      const victim = live.shift()!
      victim.process.kill("SIGKILL")
      await victim.exited
      live.push(s.start(`k${generation++}`))
    }
    const stats = await s.settled(4_000, expected)
    console.log(`kill loop: ${stats.applied} applied, ${stats.duplicates} duplicates, ${stats.refused} stale writes refused`)
  }, 90_000)
})

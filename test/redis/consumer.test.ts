import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Schedule, Schema } from "effect"
import type { Redis } from "ioredis"
import {
  type Committed,
  consume,
  deadLetterKey,
  type Entry,
  fencedScript,
  makeProducer,
  partitionOf,
  StaleFenceError,
  streamKey
} from "../../src/redis/index.ts"
import { waitFor } from "../utils/waitFor.ts"
import { lowestMean, queuedDownstream } from "../utils/gauge.ts"
import { chunk2, countBy, leaseHolders, outstanding } from "./children.ts"
import { random, redis, run as start, server, useRedis } from "./fixture.ts"
import { startProxy } from "./proxy.ts"
import { type Action, sink, workload } from "./sink.ts"

useRedis()

const publishAll = (prefix: string, partitions: number, actions: ReadonlyArray<{ key: string; action: Action }>) => {
  const producer = makeProducer<Action>({ redis, prefix, partitions })
  return Effect.runPromise(
    Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 64 })
  )
}

const sleepAtMost = (ms: number) => Effect.sleep(random() * ms)

/**
 * A consumer of the one partition of `prefix` that commits into the fenced
 * test sink `${prefix}-sink` through its own client; `onCommit` runs as each
 * commit is made, before its write is sent.
 */
const fencedSinkOptions =
  (prefix: string, consumer: string, concurrency: number, latencyMs: number, onCommit: () => void) =>
  (client: Redis) => {
    const applied = sink(client, `${prefix}-sink`)
    return {
      prefix, partitions: 1, group: "g", consumer, concurrency, leaseTtl: 1500, pollInterval: 20,
      process: (a: Action) => Effect.as(Effect.sleep(latencyMs), a.seq),
      commit: (seq: number, _a: Action, e: Entry) =>
        Effect.suspend(() => {
          onCommit()
          return applied.applyFenced([{ key: e.key, seq }], e)
        })
    }
  }

describe("partitioning", () => {
  it("partitionOf is FNV-1a (32 bits) modulo the partition count", () => {
    // Published FNV-1a test vectors: "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionOf("a", 1_000)).toBe(0xe40c292c % 1_000)
    expect(partitionOf("foobar", 7)).toBe(0xbf9cf968 % 7)
  })

  it("publish appends the key and the JSON action to the key's partition stream, trimmed with maxLen", async () => {
    const producer = makeProducer<Action>({ redis, prefix: "pub", partitions: 4, maxLen: 1 })
    expect(producer.partitionOf("key-9")).toBe(partitionOf("key-9", 4))
    const id = await Effect.runPromise(producer.publish("key-9", { seq: 7 }))
    const entries = await redis.xrange(streamKey("pub", partitionOf("key-9", 4)), "-", "+")
    expect(entries).toEqual([[id, ["k", "key-9", "a", JSON.stringify({ seq: 7 })]]])
    // MAXLEN ~ trims whole macro nodes only: appending many shows it is applied.
    for (let i = 0; i < 300; i++) await Effect.runPromise(producer.publish("key-9", { seq: i }))
    expect(await redis.xlen(streamKey("pub", partitionOf("key-9", 4)))).toBeLessThan(301)
  })

  it("rejects invalid producer options and keys, naming the field", async () => {
    expect(() => makeProducer({ redis, prefix: "p", partitions: 0 })).toThrow(
      "Expected `options.partitions` to be an integer ≥ 1, got `0` (number)"
    )
    expect(() => makeProducer({ redis, prefix: "", partitions: 1 })).toThrow(
      "Expected `options.prefix` to be a non-empty string, got `\"\"` (string)"
    )
    const exit = await Effect.runPromiseExit(makeProducer({ redis, prefix: "p", partitions: 2 }).publish("", 1))
    expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(
      "Expected `key` to be a non-empty string, got `\"\"` (string)"
    )
  })
})

describe("consume", () => {
  it("rejects invalid options, naming the field", async () => {
    const base = {
      redis, prefix: "v", partitions: 1, group: "g", consumer: "c", concurrency: 1,
      process: () => Effect.void, commit: () => Effect.void
    }
    const message = async (options: object) => {
      const exit = await Effect.runPromiseExit(consume({ ...base, ...options } as any))
      return Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "ran"
    }
    expect(await message({ concurrency: 0 })).toContain("Expected `options.concurrency` to be an integer ≥ 1 or \"auto\", got `0` (number)")
    expect(await message({ window: 2, concurrency: 4 })).toContain(
      "Expected `options.window` to be an integer ≥ concurrency (4) or \"auto\", got `2` (number)"
    )
    // Always bounded: the stream may be longer than memory.
    expect(await message({ window: Infinity })).toContain(
      "Expected `options.window` to be an integer ≥ concurrency (1) or \"auto\", got `Infinity` (number)"
    )
    expect(await message({ window: "auto", maxWindow: 0 })).toContain(
      "Expected `options.maxWindow` to be an integer ≥ concurrency (1), got `0` (number)"
    )
    expect(await message({ poison: "drop" })).toContain(
      "Expected `options.poison` to be one of \"dead-letter\", \"halt-key\", got `\"drop\"` (string)"
    )
    expect(await message({ leaseTtl: -1 })).toContain("Expected `options.leaseTtl` to be a finite duration > 0")
    expect(await message({ redis: {} })).toContain("Expected `options.redis` to be an ioredis client")
    expect(await message({ retry: 3 })).toContain("Expected `options.retry` to be a Schedule, got `3` (number)")
    expect(await message({ timeout: 0 })).toContain("Expected `options.timeout` to be a finite duration > 0")
    expect(await message({ schema: {} })).toContain("Expected `options.schema` to be a Schema, got `{}` (object)")
    expect(await message({ commit: undefined })).toContain(
      "Expected `options.commit` to be a function, got `undefined` (undefined)"
    )
    expect(await message({ commitBatch: () => Effect.void })).toContain(
      "Expected `options.commitBatch` to be undefined when `options.commit` is given (one of the two)"
    )
  })

  it("rebalances: a joining consumer gets a fair share, a leaving one hands its partitions over", async () => {
    const P = 6
    const out = sink(redis, "rb-sink")
    const options = (consumer: string) => () => ({
      prefix: "rb", partitions: P, group: "g", consumer, concurrency: 4, leaseTtl: 1500, pollInterval: 20,
      process: (a: Action) => Effect.as(sleepAtMost(6), a.seq),
      commit: (seq: number, _a: Action, e: { key: string }) => Effect.promise(() => out.apply(e.key, seq))
    })
    const holders = async () => countBy(await leaseHolders(redis, "rb", "g", P))
    const a = start(server.url, options("a"))
    start(server.url, options("b"))
    await waitFor("a and b owning 3 partitions each", async () => {
      const c = await holders()
      return c.a === 3 && c.b === 3
    })
    const { actions, expected } = workload(3_000, 60, random)
    await publishAll("rb", P, actions)

    start(server.url, options("c"))
    await waitFor("a, b and c owning 2 partitions each", async () => {
      const c = await holders()
      return c.a === 2 && c.b === 2 && c.c === 2
    })
    await a.stop()
    // A graceful leave releases the leases at once (no TTL wait) and leaves the group.
    expect((await holders()).a).toBeUndefined()
    expect(await redis.zrange("rb:g:consumers", 0, -1)).not.toContain("a")
    await waitFor("b and c owning 3 partitions each", async () => {
      const c = await holders()
      return c.b === 3 && c.c === 3
    })
    await waitFor("every action applied", async () => (await out.stats()).applied === 3_000)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "rb", "g", P)) === 0)
    expect((await out.stats()).gaps).toBe(0)
    expect(await out.last()).toEqual(expected)
  })

  const poisonRun = async (prefix: string, policy: "dead-letter" | "halt-key") => {
    const P = 2
    const committed = new Map<string, Array<number>>()
    const attempts = new Map<string, number>()
    const actions: Array<{ key: string; action: Action }> = []
    for (let seq = 1; seq <= 6; seq++) {
      for (const key of ["k1", "k2", "k3"]) {
        // k1#3 always fails; k2#2 fails once, then succeeds; k3#4 throws (a defect).
        const failures = key === "k1" && seq === 3 ? -1 : key === "k2" && seq === 2 ? 1 : key === "k3" && seq === 4 ? -2 : 0
        actions.push({ key, action: { seq, failures } })
      }
    }
    const ids = await publishAll(prefix, P, actions)
    start(server.url, () => ({
      prefix, partitions: P, group: "g", consumer: "c", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
      retry: Schedule.recurs(2),
      poison: policy,
      process: (a: Action, e: { key: string }) =>
        Effect.suspend(() => {
          const n = (attempts.get(`${e.key}#${a.seq}`) ?? 0) + 1
          attempts.set(`${e.key}#${a.seq}`, n)
          if (a.failures === -2) throw new Error(`bug at ${e.key}#${a.seq}`)
          return a.failures === -1 || n <= (a.failures ?? 0)
            ? Effect.fail(new Error(`boom ${e.key}#${a.seq} (attempt ${n})`))
            : Effect.as(sleepAtMost(3), a.seq)
        }),
      commit: (seq: number, _a: Action, e: { key: string }) =>
        Effect.sync(() => committed.set(e.key, [...(committed.get(e.key) ?? []), seq]))
    }))
    return { committed, attempts, id: ids[actions.findIndex((a) => a.key === "k1" && a.action.seq === 3)] }
  }

  it("dead-letters a poison action after the retries and lets its key move on", async () => {
    const { attempts, committed, id } = await poisonRun("dl", "dead-letter")
    await waitFor("every other action committed", async () =>
      committed.get("k1")?.length === 5 && committed.get("k2")?.length === 6 && committed.get("k3")?.length === 5)
    expect(committed.get("k1")).toEqual([1, 2, 4, 5, 6])
    expect(committed.get("k2")).toEqual([1, 2, 3, 4, 5, 6])
    expect(committed.get("k3")).toEqual([1, 2, 3, 5, 6])
    expect(attempts.get("k1#3")).toBe(3)
    expect(attempts.get("k2#2")).toBe(2)
    expect(attempts.get("k3#4")).toBe(1)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "dl", "g", 2)) === 0)
    const dead = (await redis.xrange(deadLetterKey("dl", "g"), "-", "+")).map(([, f]) => Object.fromEntries(chunk2(f)))
    expect(dead).toHaveLength(2)
    expect(dead.find((f) => f.key === "k3")).toMatchObject({ error: "bug at k3#4", attempts: "1" })
    const fields = dead.find((f) => f.key === "k1")
    expect(fields).toMatchObject({
      partition: String(partitionOf("k1", 2)),
      id,
      key: "k1",
      action: JSON.stringify({ seq: 3, failures: -1 }),
      error: "boom k1#3 (attempt 3)",
      attempts: "3",
      consumer: "c"
    })
  })

  it("dead-letters an entry that is not an action without calling process", async () => {
    const id = await redis.xadd(streamKey("bad", 0), "*", "k", "k1", "a", "{not json")
    const keyless = await redis.xadd(streamKey("bad", 0), "*", "a", "{}")
    const processed: Array<unknown> = []
    start(server.url, () => ({
      prefix: "bad", partitions: 1, group: "g", consumer: "c", concurrency: 1, leaseTtl: 1500, pollInterval: 20,
      process: (a: unknown) => Effect.sync(() => processed.push(a)),
      commit: () => Effect.void
    }))
    await waitFor("the entries dead-lettered", async () => (await redis.xlen(deadLetterKey("bad", "g"))) === 2)
    const dead = (await redis.xrange(deadLetterKey("bad", "g"), "-", "+")).map(([, f]) => Object.fromEntries(chunk2(f)))
    expect(dead).toEqual([
      expect.objectContaining({ id, key: "k1", action: "{not json", attempts: "0", error: expect.stringContaining("JSON") }),
      expect.objectContaining({ id: keyless, key: "", action: "{}", error: "entry has no \"k\" field (the key)" })
    ])
    await waitFor("the entry acknowledged", async () => (await outstanding(redis, "bad", "g", 1)) === 0)
    expect(processed).toEqual([])
  })

  it("halt-key: the poison action and the rest of its key stay pending, other keys go on", async () => {
    const { attempts, committed } = await poisonRun("halt", "halt-key")
    await waitFor("k2 committed", async () => committed.get("k2")?.length === 6 && attempts.get("k1#3") === 3)
    const pending = async (p: number) => ((await redis.xpending(streamKey("halt", p), "g")) as [number])[0]
    // k1#3..6 and k3#4..6 stay pending; everything else is acknowledged.
    await waitFor("only the halted keys' actions left pending", async () =>
      (await pending(0)) + (await pending(1)) === 7 && (await outstanding(redis, "halt", "g", 2)) === 7)
    expect(committed.get("k1")).toEqual([1, 2])
    expect(committed.get("k3")).toEqual([1, 2, 3])
    expect([4, 5, 6].map((seq) => attempts.get(`k1#${seq}`))).toEqual([undefined, undefined, undefined])
    expect([5, 6].map((seq) => attempts.get(`k3#${seq}`))).toEqual([undefined, undefined])
    expect(await redis.xlen(deadLetterKey("halt", "g"))).toBe(0)
  })

  it("a new owner first re-processes the previous owner's pending entries, in stream order", async () => {
    const actions = Array.from({ length: 10 }, (_, i) => ({ key: "k", action: { seq: i + 1 } }))
    await publishAll("takeover", 1, actions)
    // A previous owner read 1..5 and died before acknowledging them.
    await redis.xgroup("CREATE", streamKey("takeover", 0), "g", "0", "MKSTREAM")
    await redis.xreadgroup("GROUP", "g", "ghost", "COUNT", 5, "STREAMS", streamKey("takeover", 0), ">")
    const committed: Array<number> = []
    start(server.url, () => ({
      prefix: "takeover", partitions: 1, group: "g", consumer: "heir", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
      process: (a: Action) => Effect.as(sleepAtMost(3), a.seq),
      commit: (seq: number) => Effect.sync(() => committed.push(seq))
    }))
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "takeover", "g", 1)) === 0)
    expect(committed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it("a graceful stop drains: what was read is processed, committed and acknowledged, nothing interrupted", async () => {
    const actions = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 8}`, action: { seq: Math.floor(i / 8) + 1 } }))
    const ids = await publishAll("drain", 1, actions)
    const started = new Set<string>()
    const committed = new Set<string>()
    let interrupted = 0
    const consumer = start(server.url, () => ({
      // The drain is bounded by leaseTtl: generous here, the machine may be busy.
      prefix: "drain", partitions: 1, group: "g", consumer: "c", concurrency: 4, leaseTtl: 5_000, pollInterval: 20,
      process: (a: Action, e: { id: string }) =>
        Effect.sync(() => started.add(e.id)).pipe(
          Effect.andThen(Effect.sleep(200)),
          Effect.as(a.seq),
          Effect.onInterrupt(() => Effect.sync(() => interrupted++))
        ),
      commit: (_seq: number, _a: Action, e: { id: string }) => Effect.sync(() => committed.add(e.id))
    }))
    await waitFor("a few actions committed", async () => committed.size >= 4)
    await consumer.stop()
    expect(interrupted).toBe(0)
    expect([...started].filter((id) => !committed.has(id))).toEqual([])
    // Nothing committed is left unacknowledged: the next owner redoes nothing.
    const pending = (await redis.xpending(streamKey("drain", 0), "g", "-", "+", 100)) as Array<[string]>
    expect(pending.filter(([id]) => committed.has(id))).toEqual([])
    expect(committed.size).toBeLessThan(ids.length)
  })

  it("a consumer cut off from Redis: taken over once its lease expires, its late commands refused, order kept", async () => {
    const proxy = await startProxy(server.port)
    const { actions, expected } = workload(150, 10, random)
    await publishAll("cut", 1, actions)
    const out = sink(redis, "cut-sink")
    let takenOver = false
    let commitsAfterTakeover = 0
    const options = (consumer: string, latency: number) =>
      fencedSinkOptions("cut", consumer, 4, latency, () => {
        if (consumer === "a" && takenOver) commitsAfterTakeover++
      })
    // `a` talks to Redis through a proxy that will hold its traffic.
    const a = start(proxy.url, options("a", 20))
    await waitFor("a committing", async () => (await out.stats()).applied >= 10)
    proxy.pause()
    // `a` cannot renew: its lease expires in Redis, and `b` takes the partition over.
    await waitFor("a's lease expired in Redis", async () => (await redis.get("cut:{0}:g:lease")) === null)
    start(server.url, options("b", 1))
    await waitFor("b owning the partition", async () => (await redis.get("cut:{0}:g:lease"))?.startsWith("b/") === true)
    takenOver = true
    // Everything `a` sent while cut off arrives now, late: its commits in flight
    // are refused by the fenced sink (b's fence is higher), its renewal, reads
    // and acknowledgements are refused, and it starts no new commit.
    proxy.resume()
    await waitFor("every action applied", async () => (await out.stats()).applied === 150)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "cut", "g", 1)) === 0)
    const stats = await out.stats()
    expect(stats.gaps).toBe(0)
    expect(stats.stale).toBe(0)
    expect(await out.last()).toEqual(expected)
    expect(commitsAfterTakeover).toBe(0)
    expect((await redis.get("cut:{0}:g:lease"))?.startsWith("b/")).toBe(true)
    await a.stop()
    await proxy.close()
  })

  it("a commit held on the wire past the lease lands late: refused, no key's last write moves back", async () => {
    const proxy = await startProxy(server.port)
    // Enough work that `a` is still busy when the test holds its next commit (≥ 1.5 s at this pace).
    const { actions, expected } = workload(300, 5, random)
    await publishAll("late", 1, actions)
    const out = sink(redis, "late-sink")
    // Set, `a`'s next commit cuts it off from Redis first: the write waits in the proxy.
    let holdNext = false
    let held = false
    const options = (consumer: string) =>
      fencedSinkOptions("late", consumer, 2, 10, () => {
        if (holdNext) {
          holdNext = false
          held = true
          proxy.pause()
        }
      })
    const a = start(proxy.url, options("a"))
    await waitFor("a committing", async () => (await out.stats()).applied >= 10)
    // Every key's last write (fence, seq), sampled from here to the end.
    const sampler = out.sampleWrites(10)
    holdNext = true
    await waitFor("a's commit held", async () => held)
    await waitFor("a's lease expired in Redis", async () => (await redis.get("late:{0}:g:lease")) === null)
    start(server.url, options("b"))
    await waitFor("every action applied by b", async () => (await out.stats()).applied === 300)
    // a's held commit (and everything else it sent) reaches Redis now, after
    // b's commits; a PING on a's connection answers after it.
    proxy.resume()
    await a.redis.ping()
    expect((await sampler.stop()).backwards).toEqual([])
    const stats = await out.stats()
    expect(stats.stale).toBe(0)
    expect(stats.gaps).toBe(0)
    expect(await out.last()).toEqual(expected)
    await a.stop()
    await proxy.close()
  })

  it("entries delivered behind the worker's back (a read resent after a reconnect) are not skipped", async () => {
    const proxy = await startProxy(server.port)
    const out = sink(redis, "stray-sink")
    const first = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 2}`, action: { seq: Math.floor(i / 2) + 1 } }))
    const second = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 2}`, action: { seq: Math.floor(i / 2) + 6 } }))
    await publishAll("stray", 1, first)
    const c = start(proxy.url, (client) => {
      const applied = sink(client, "stray-sink")
      return {
        prefix: "stray", partitions: 1, group: "g", consumer: "c", concurrency: 2, leaseTtl: 1500, pollInterval: 20,
        process: (a: Action) => Effect.succeed(a.seq),
        commit: (seq: number, _a: Action, e: { key: string }) => Effect.promise(() => applied.apply(e.key, seq))
      }
    })
    await waitFor("the first actions applied", async () => (await out.stats()).applied === 10)
    // While `c` is briefly cut off, a read in its name delivers 4 new entries
    // whose reply `c` never sees — what a read resent after a reconnect does.
    proxy.pause()
    await publishAll("stray", 1, second)
    await redis.xreadgroup("GROUP", "g", "c", "COUNT", 4, "STREAMS", streamKey("stray", 0), ">")
    proxy.resume()
    await waitFor("every action applied", async () => (await out.stats()).applied === 20)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "stray", "g", 1)) === 0)
    expect((await out.stats()).gaps).toBe(0)
    expect(await out.last()).toEqual({ k0: 10, k1: 10 })
    await c.stop()
    await proxy.close()
  })

  it("a lost lease stops the partition: in-flight work interrupted, nothing read or acknowledged after", async () => {
    const lease = "lost:{0}:g:lease"
    const { actions } = workload(200, 20, random)
    await publishAll("lost", 1, actions)
    // "blocking": actions started from then on run until interrupted, so that
    // work is certainly in flight when the lease is lost, however busy the machine.
    let phase: "running" | "blocking" | "lost" | "free" = "running"
    let blocked = 0
    let interrupted = 0
    let committedAfterStop = 0
    const c = start(server.url, () => ({
      prefix: "lost", partitions: 1, group: "g", consumer: "c", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
      process: (a: Action) =>
        (phase === "blocking"
          ? Effect.andThen(Effect.sync(() => blocked++), Effect.never)
          : Effect.as(Effect.sleep(5), a.seq)).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++))),
      commit: () => Effect.sync(() => phase === "lost" && committedAfterStop++)
    }))
    const acked = async () => {
      const groups = (await redis.xinfo("GROUPS", "lost:{0}")) as Array<Array<string | number>>
      const g = Object.fromEntries(chunk2(groups[0]))
      return { read: Number(g["entries-read"]), acked: Number(g["entries-read"]) - Number(g.pending) }
    }
    await waitFor("some entries acknowledged", async () => (await acked()).acked >= 8)
    phase = "blocking"
    // Another owner takes the lease from `c` (as after an expiry): from now on
    // every fenced read and acknowledgement of `c` is refused in Redis. Taken
    // only while `c` holds it and has blocked actions in flight (a busy machine
    // may make `c` lose the lease on its own and start over).
    let atSteal = { read: 0, acked: 0 }
    let warningsAtSteal = 0
    await waitFor("the lease taken from c", async () => {
      if (blocked - interrupted <= 0) return false
      const stolen = await redis.eval(
        "if string.sub(redis.call('GET', KEYS[1]) or '', 1, 2) == 'c/' then redis.call('SET', KEYS[1], 'thief/1', 'PX', 60000) return 1 end return 0",
        1,
        lease
      )
      if (stolen === 1) {
        atSteal = await acked()
        warningsAtSteal = c.warnings().length
      }
      return stolen === 1
    })
    await waitFor("in-flight actions interrupted", async () => interrupted > 0 && interrupted === blocked)
    phase = "lost"
    // The partition's work has ended once `c` says why it stopped; a command
    // `c` sent before that (a late acknowledgement) reaches Redis before a
    // PING sent after it on `c`'s own connection.
    await waitFor("c reporting the lost lease", async () =>
      c.warnings().slice(warningsAtSteal).some((w) => /partition 0 stopped: lease of partition 0 lost/.test(w)))
    await c.redis.ping()
    expect(await acked()).toEqual(atSteal)
    expect(await redis.get(lease)).toBe("thief/1")
    expect(committedAfterStop).toBe(0)
    // The thief goes away: `c` takes the partition again and finishes.
    phase = "free"
    await redis.del(lease)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "lost", "g", 1)) === 0)
  })

})

describe("window", () => {
  it("\"auto\" (the default, or given with maxWindow) grows past its start while one key's entries fill it", async () => {
    // 30 entries of a key whose first action is stuck, then 100 of other keys,
    // concurrency 2: a fixed window of 3 × 2 holds only stuck entries, so the
    // others could not start before the stuck action ends. "auto" grows up to
    // maxWindow (40 here; 128 × 2 by default) and lets them through.
    const stuck = Array.from({ length: 30 }, (_, i) => ({ key: "stuck", action: { seq: i + 1 } }))
    const others = Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 10}`, action: { seq: Math.floor(i / 10) + 1 } }))
    const release = Effect.runSync(Deferred.make<void>())
    const runAuto = async (prefix: string, window: { readonly window?: "auto"; readonly maxWindow?: number }) => {
      await publishAll(prefix, 1, [...stuck, ...others])
      const committed: Array<string> = []
      start(server.url, () => ({
        prefix, partitions: 1, group: "g", consumer: "c", concurrency: 2, leaseTtl: 5_000, pollInterval: 20, ...window,
        process: (a: Action, e: Entry) =>
          e.key === "stuck" && a.seq === 1 ? Effect.as(Deferred.await(release), a.seq) : Effect.succeed(a.seq),
        commit: (seq: number, _a: Action, e: Entry) => Effect.sync(() => committed.push(`${e.key}#${seq}`))
      }))
      return committed
    }
    const given = await runAuto("auto", { window: "auto", maxWindow: 40 })
    const byDefault = await runAuto("auto-default", {})
    for (const committed of [given, byDefault]) {
      await waitFor("every other key's actions committed while the stuck one runs", async () => committed.length === 100, 15_000)
      expect(committed.filter((c) => c.startsWith("stuck"))).toEqual([])
    }
    Effect.runSync(Deferred.succeed(release, undefined))
    for (const [prefix, committed] of [["auto", given], ["auto-default", byDefault]] as const) {
      await waitFor("everything committed", async () => committed.length === 130)
      // Per key in stream order.
      const seqs = (key: string) => committed.filter((c) => c.startsWith(`${key}#`)).map((c) => Number(c.split("#")[1]))
      expect(seqs("stuck")).toEqual(stuck.map(({ action }) => action.seq))
      expect(seqs("k3")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      await waitFor("every entry acknowledged", async () => (await outstanding(redis, prefix, "g", 1)) === 0)
    }
  })
})

describe("concurrency", () => {
  it("\"auto\" backs off when the downstream queues; every entry once, per key in stream order", async () => {
    // A downstream that serves 4 calls at once: the others queue, and their latency shows it.
    const entries = Array.from({ length: 1500 }, (_, i) => ({ key: `k${i % 20}`, action: { seq: Math.floor(i / 20) + 1 } }))
    await publishAll("auto-concurrency", 1, entries)
    // Calls in flight as each call starts: with a fixed 16 it stays near 16 (20 keys are always ready).
    const downstream = queuedDownstream(4, 2)
    const committed: Array<string> = []
    start(server.url, () => ({
      prefix: "auto-concurrency", partitions: 1, group: "g", consumer: "c", leaseTtl: 5_000, pollInterval: 20,
      concurrency: "auto", maxConcurrency: 16,
      process: (a: Action) => downstream.call(a.seq),
      commit: (seq: number, _a: Action, e: Entry) => Effect.sync(() => committed.push(`${e.key}#${seq}`))
    }))
    await waitFor("every entry committed", async () => committed.length === entries.length, 30_000)
    for (let k = 0; k < 20; k++) {
      const seqs = committed.filter((c) => c.startsWith(`k${k}#`)).map((c) => Number(c.split("#")[1]))
      expect(seqs).toEqual(Array.from({ length: 75 }, (_, i) => i + 1))
    }
    expect(downstream.state.peak).toBeLessThanOrEqual(16)
    // It backs off: some 100 calls in a row ran at a mean below 12 (a fixed 16 stays near 15).
    expect(lowestMean(downstream.state.atStart, 100), "the lowest mean in flight over 100 calls in a row").toBeLessThan(12)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "auto-concurrency", "g", 1)) === 0)
  })
})

describe("fencing", () => {
  it("fencedScript applies a write whose fence is at least the stored one, and refuses a lower one without running it", async () => {
    const put = fencedScript("redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HLEN', KEYS[1])")
    const call = (fence: number, value: string) =>
      Effect.runPromiseExit(put(redis, { fenceKey: "fs:fence", fence, keys: ["fs:data"], args: ["k", value] }))
    expect(await call(2, "by owner 2")).toEqual(Exit.succeed(1))
    expect(await call(2, "owner 2 again")).toEqual(Exit.succeed(1))
    expect(await call(1, "by stale owner 1")).toEqual(
      Exit.fail(new StaleFenceError({ fenceKey: "fs:fence", fence: 1, current: 2 }))
    )
    expect(await redis.hget("fs:data", "k")).toBe("owner 2 again")
    expect(await call(3, "by owner 3")).toEqual(Exit.succeed(1))
    expect(await redis.get("fs:fence")).toBe("3")
    expect(await redis.hget("fs:data", "k")).toBe("by owner 3")
  })

  it("every acquisition of a partition's lease carries a higher fence, seen by commit", async () => {
    await publishAll("fence", 1, [{ key: "k", action: { seq: 1 } }, { key: "k", action: { seq: 2 } }])
    const fences: Array<number> = []
    const options = () => ({
      prefix: "fence", partitions: 1, group: "g", consumer: "c", concurrency: 1, leaseTtl: 1500, pollInterval: 20,
      process: (a: Action) => Effect.succeed(a.seq),
      commit: (_seq: number, _a: Action, e: Entry) => Effect.sync(() => fences.push(e.fence))
    })
    const first = start(server.url, options)
    await waitFor("the first action committed", async () => fences.length === 2)
    await first.stop()
    await publishAll("fence", 1, [{ key: "k", action: { seq: 3 } }])
    start(server.url, options)
    await waitFor("the next action committed", async () => fences.length === 3)
    expect(fences[0]).toBe(fences[1])
    expect(fences[2]).toBeGreaterThan(fences[1])
    expect(Number(await redis.get("fence:{0}:g:fence"))).toBe(fences[2])
  })
})

describe("consume: timeout, batches, schema", () => {
  it("a stuck action times out, is retried, then dead-lettered; the other keys of its partition go on", async () => {
    const actions = [{ key: "stuck", action: { seq: 1, failures: -1 } }, ...workload(60, 6, random).actions]
    await publishAll("stuck", 1, actions)
    const committed: Array<string> = []
    let attempts = 0
    start(server.url, () => ({
      prefix: "stuck", partitions: 1, group: "g", consumer: "c", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
      timeout: "200 millis",
      retry: Schedule.recurs(1),
      process: (a: Action, e: Entry) =>
        e.key === "stuck" ? Effect.andThen(Effect.sync(() => attempts++), Effect.never) : Effect.succeed(a.seq),
      commit: (_seq: number, _a: Action, e: Entry) => Effect.sync(() => committed.push(e.key))
    }))
    await waitFor("every other action committed", async () => committed.length === 60)
    await waitFor("the stuck action dead-lettered", async () => (await redis.xlen(deadLetterKey("stuck", "g"))) === 1)
    const [[, fields]] = await redis.xrange(deadLetterKey("stuck", "g"), "-", "+")
    expect(Object.fromEntries(chunk2(fields))).toMatchObject({ key: "stuck", attempts: "2" })
    expect(attempts).toBe(2)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "stuck", "g", 1)) === 0)
  })

  it("commitBatch: chunks of released results, per key in stream order, acknowledged after each chunk", async () => {
    const P = 2
    const { actions, expected } = workload(1_000, 20, random)
    await publishAll("batch", P, actions)
    const batches: Array<ReadonlyArray<Committed<Action, number>>> = []
    const out = sink(redis, "batch-sink")
    start(server.url, (client) => {
      const applied = sink(client, "batch-sink")
      return {
        prefix: "batch", partitions: P, group: "g", consumer: "c", concurrency: 8, leaseTtl: 1500, pollInterval: 20,
        process: (a: Action) => Effect.as(sleepAtMost(3), a.seq),
        commitBatch: (committed: ReadonlyArray<Committed<Action, number>>) => {
          batches.push(committed)
          return applied.applyFenced(committed.map(({ entry, result }) => ({ key: entry.key, seq: result })), committed[0].entry)
        }
      }
    })
    await waitFor("every action applied", async () => (await out.stats()).applied === 1_000)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "batch", "g", P)) === 0)
    const stats = await out.stats()
    expect(stats.gaps).toBe(0)
    expect(await out.last()).toEqual(expected)
    // One partition and one fence per chunk; chunks hold several results.
    for (const batch of batches) {
      expect(new Set(batch.map(({ entry }) => `${entry.partition}/${entry.fence}`)).size).toBe(1)
    }
    expect(batches.length).toBeLessThan(1_000)
  })

  it("schema: actions are decoded on read; one that does not match is dead-lettered without reaching process", async () => {
    const id = await redis.xadd(streamKey("schema", 0), "*", "k", "k1", "a", JSON.stringify({ seq: "one" }))
    await publishAll("schema", 1, [{ key: "k1", action: { seq: 2 } }])
    const processed: Array<unknown> = []
    start(server.url, () => ({
      prefix: "schema", partitions: 1, group: "g", consumer: "c", concurrency: 1, leaseTtl: 1500, pollInterval: 20,
      schema: Schema.Struct({ seq: Schema.Number }),
      process: (a: { readonly seq: number }) => Effect.sync(() => processed.push(a)),
      commit: () => Effect.void
    }))
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "schema", "g", 1)) === 0)
    expect(processed).toEqual([{ seq: 2 }])
    const dead = (await redis.xrange(deadLetterKey("schema", "g"), "-", "+")).map(([, f]) => Object.fromEntries(chunk2(f)))
    expect(dead).toEqual([expect.objectContaining({ id, key: "k1", attempts: "0", error: expect.stringContaining("Expected number") })])
  })
})

import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { makeProducer } from "../src/redis/index.ts"
import { outstanding } from "./redis/children.ts"
import { runConsumer, type Running } from "./redis/inprocess.ts"
import { type RedisServer, startRedis, waitFor } from "./redis/server.ts"
import { type Action, sink, workload } from "./redis/sink.ts"

let server: RedisServer
let redis: Redis
let consumer: Running | undefined
beforeAll(async () => {
  // Persistent (append-only file, fsync always): the restarted server has the streams, groups and sink.
  server = await startRedis({ persistent: true })
  redis = new Redis(server.url, { enableAutoPipelining: true })
  redis.on("error", () => undefined)
})
afterAll(async () => {
  await consumer?.stop()
  redis?.disconnect()
  await server?.stop()
})

describe("Redis restarted mid-run", () => {
  it("the consumer reconnects and continues: everything applied once in order, nothing lost", async () => {
    const P = 4
    const { actions, expected } = workload(2_000, 50)
    const producer = makeProducer<Action>({ redis, prefix: "rs", partitions: P })
    await Effect.runPromise(
      Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 64, discard: true })
    )
    const out = sink(redis, "rs-sink")
    consumer = runConsumer(server.url, (client) => {
      const applied = sink(client, "rs-sink")
      return {
        prefix: "rs", partitions: P, group: "g", consumer: "c", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
        process: (a: Action) => Effect.as(Effect.sleep(Math.random() * 4), a.seq),
        commit: (seq: number, _a: Action, e: { key: string }) => Effect.promise(() => applied.apply(e.key, seq))
      }
    })
    await waitFor("a quarter applied", async () => (await out.stats()).applied >= 500)
    await server.restart()
    await waitFor("every action applied", async () => (await out.stats()).applied === 2_000)
    await waitFor("every entry acknowledged", async () => (await outstanding(redis, "rs", "g", P)) === 0)
    const stats = await out.stats()
    expect(stats.gaps).toBe(0)
    expect(await out.last()).toEqual(expected)
    expect(consumer.fiber.unsafePoll()).toBeNull()
  })
})

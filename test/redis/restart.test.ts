import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeProducer } from "../../src/redis/index.ts"
import { outstanding } from "./children.ts"
import { random, redis, run, server, useRedis } from "./fixture.ts"
import { type Action, sink, workload } from "./sink.ts"
import { waitFor } from "../utils/waitFor.ts"
import { poll } from "../utils/line.ts"

// Persistent (append-only file, fsync always): the restarted server has the streams, groups and sink.
useRedis({ persistent: true })

describe("Redis restarted mid-run", () => {
  it("the consumer reconnects and continues: everything applied once in order, nothing lost", async () => {
    const P = 4
    const { actions, expected } = workload(2_000, 50, random)
    const producer = makeProducer<Action>({ redis, prefix: "rs", partitions: P })
    await Effect.runPromise(
      Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 64, discard: true })
    )
    const out = sink(redis, "rs-sink")
    const consumer = run(server.url, (client) => {
      const applied = sink(client, "rs-sink")
      return {
        prefix: "rs", partitions: P, group: "g", consumer: "c", concurrency: 4, leaseTtl: 1500, pollInterval: 20,
        process: (a: Action) => Effect.as(Effect.sleep(random() * 4), a.seq),
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
    expect(poll(consumer.fiber)).toBeNull()
  })
})

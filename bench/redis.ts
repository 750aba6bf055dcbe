/**
 * `npm run bench:redis`: throughput of the Redis Streams consumer with 1, 2
 * and 4 consumer processes, and the duplicate rate after a `kill -9`.
 *
 * Setup: a local `redis-server` (no persistence), 8 partitions, 200 keys,
 * each action's `process` sleeps uniform 0–5 ms (an I/O-bound action),
 * `concurrency` 16 per partition, the commit is one Lua call into an
 * idempotent sink in the same Redis. Consumers are started and balanced
 * before the actions are published; the time runs from the first publish to
 * the last commit. Everything (Redis, producer, consumers) shares this
 * machine's cores: on 2 cores, more processes add parallel waiting, not CPU.
 */
import { cpus, loadavg } from "node:os"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { makeProducer } from "../src/redis/index.ts"
import { type Child, countBy, leaseHolders, spawnConsumer } from "../test/redis/children.ts"
import type { ConsumerConfig } from "../test/redis/consumer.ts"
import { startRedis, waitFor } from "../test/redis/server.ts"
import { type Action, sink, workload } from "../test/redis/sink.ts"

const P = 8
const KEYS = 200
const ACTIONS = Number(process.env.ACTIONS ?? 20_000)

// The consumers log at debug level: partition taken / given up (printed only when something is unexpected).
process.env.CONSUMER_DEBUG = "1"
const server = await startRedis()
const redis = new Redis(server.url, { enableAutoPipelining: true })
const children: Array<Child> = []

const run = async (name: string, consumers: number, crash: boolean) => {
  const config = (consumer: string): ConsumerConfig => ({
    url: server.url, prefix: name, partitions: P, group: "g", consumer, sink: `${name}-sink`,
    concurrency: 16, maxLatencyMs: 5, leaseTtlMs: 3_000
  })
  const start = (consumer: string) => {
    const child = spawnConsumer(config(consumer))
    children.push(child)
    return child
  }
  const started = Array.from({ length: consumers }, (_, i) => start(`${name}-c${i + 1}`))
  await waitFor(`${consumers} consumers sharing ${P} partitions`, async () => {
    // Balanced: everyone at most its fair share, all partitions owned (no hand-over left to happen under load).
    const counts = Object.values(countBy(await leaseHolders(redis, name, "g", P)))
    return counts.length === consumers && counts.every((n) => n <= Math.ceil(P / consumers)) &&
      counts.reduce((a, b) => a + b) === P
  }, 120_000)
  const out = sink(redis, `${name}-sink`)
  const { actions } = workload(ACTIONS, KEYS)
  const producer = makeProducer<Action>({ redis, prefix: name, partitions: P })
  const t0 = performance.now()
  await Effect.runPromise(
    Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 256, discard: true })
  )
  if (crash) {
    await waitFor("40% applied", async () => (await out.stats()).applied >= ACTIONS * 0.4, 300_000)
    started[0].process.kill("SIGKILL")
    await started[0].exited
    start(`${name}-replacement`)
  }
  await waitFor("every action applied", async () => (await out.stats()).applied === ACTIONS, 600_000)
  const seconds = (performance.now() - t0) / 1000
  const stats = await out.stats()
  if (stats.gaps !== 0) throw new Error(`order violated: ${stats.log.join(", ")}`)
  let published = 0
  for (let p = 0; p < P; p++) published += await redis.xlen(`${name}:{${p}}`)
  if (published !== ACTIONS) console.error(`${name}: ${published} entries in the streams for ${ACTIONS} publishes`)
  if (!crash && stats.duplicates > 0) {
    // Unexpected without a crash: show who owned what when (partition taken / given up / stopped).
    for (const child of children) console.error(`--- ${child.name}\n${child.output().replace(/timestamp=\S+ /g, "")}`)
  }
  for (const child of children.splice(0)) {
    child.process.kill("SIGTERM")
    await child.exited
  }
  return { seconds, stats }
}

console.log(`Redis Streams consumer: ${ACTIONS} actions, ${KEYS} keys, ${P} partitions, process 0–5 ms, concurrency 16`)
console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} (Redis, producer and consumers share them)`)
console.log("")
console.log("| consumer processes | actions/s | duplicates |")
console.log("|---:|---:|---:|")
try {
  for (const n of [1, 2, 4]) {
    const { seconds, stats } = await run(`bench${n}`, n, false)
    console.log(`| ${n} | ${Math.round(ACTIONS / seconds)} | ${stats.duplicates} |`)
  }
  const { seconds, stats } = await run("crash", 3, true)
  console.log("")
  console.log(
    `kill -9 of 1 of 3 consumers at 40%, replacement started: ${Math.round(ACTIONS / seconds)} actions/s overall, ` +
      `${stats.duplicates} duplicate commits (${(100 * stats.duplicates / ACTIONS).toFixed(2)}% of ${ACTIONS}), 0 lost, 0 out of order`
  )
} finally {
  for (const child of children) child.process.kill("SIGKILL")
  redis.disconnect()
  await server.stop()
}

/**
 * `npm run bench:redis`: throughput of the Redis Streams consumer with 1, 2
 * and 4 consumer processes, committing per action (`commit`: one Lua call
 * per action) or per released chunk (`commitBatch`: one Lua call per chunk),
 * side by side in one run; and the duplicate rate after a `kill -9`.
 *
 * Setup: a local `redis-server` (no persistence), 8 partitions, 200 keys,
 * each action's `process` sleeps uniform 0–5 ms (an I/O-bound action),
 * `concurrency` 16 per partition, the sink is an idempotent Lua script in
 * the same Redis (fenced: it refuses a stale owner's write). Consumers are started and balanced
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
import { startRedis } from "../test/redis/server.ts"
import { waitFor } from "../test/utils/waitFor.ts"
import { type Action, sink, workload } from "../test/redis/sink.ts"
import { line } from "./line.ts"

const P = 8
const KEYS = 200
const ACTIONS = Number(process.env.ACTIONS ?? 20_000)

// The consumers log at debug level: partition taken / given up (printed only when something is unexpected).
process.env.CONSUMER_DEBUG = "1"
const server = await startRedis()
const redis = new Redis(server.url, { enableAutoPipelining: true })
const children: Array<Child> = []

type Sink = Pick<ConsumerConfig, "commit" | "fenced">

const run = async (name: string, consumers: number, sinkMode: Sink, crash: boolean) => {
  const config = (consumer: string): ConsumerConfig => ({
    url: server.url, prefix: name, partitions: P, group: "g", consumer, sink: `${name}-sink`,
    concurrency: 16, maxLatencyMs: 5, leaseTtlMs: 3_000, ...sinkMode
  })
  const start = (consumer: string) => {
    const child = spawnConsumer(config(consumer), line)
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
  let cpuMicros = 0
  for (const child of children.splice(0)) {
    child.process.kill("SIGTERM")
    await child.exited
    cpuMicros += Number(/busy-cpu-us (\d+)/.exec(child.output())?.[1] ?? 0)
  }
  return { seconds, stats, cpuPerAction: cpuMicros / ACTIONS }
}

console.log(`Redis Streams consumer: ${ACTIONS} actions, ${KEYS} keys, ${P} partitions, process 0–5 ms, concurrency 16`)
console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} (Redis, producer and consumers share them)`)
console.log("")
const modes: ReadonlyArray<{ readonly label: string; readonly sink: Sink }> = [
  { label: "`commit`, one call per action, unfenced", sink: { commit: "each", fenced: false } },
  { label: "`commit`, one call per action, fenced", sink: { commit: "each", fenced: true } },
  { label: "`commitBatch`, one call per chunk, fenced", sink: { commit: "batch", fenced: true } }
]
console.log("| consumer processes | sink | actions/s | consumer CPU µs/action | duplicates |")
console.log("|---:|---|---:|---:|---:|")
try {
  const single = new Map<string, { readonly rate: number; readonly cpuPerAction: number }>()
  for (const n of [1, 2, 4]) {
    for (const [i, mode] of modes.entries()) {
      // Unfenced per-action commits only as the single-consumer reference.
      if (n > 1 && i === 0) continue
      const { cpuPerAction, seconds, stats } = await run(`bench${n}-${i}`, n, mode.sink, false)
      const rate = Math.round(ACTIONS / seconds)
      if (n === 1) single.set(mode.label, { rate, cpuPerAction })
      console.log(`| ${n} | ${mode.label} | ${rate} | ${Math.round(cpuPerAction)} | ${stats.duplicates} |`)
    }
  }
  const [reference, , batched] = modes.map((mode) => single.get(mode.label)!)
  console.log("")
  console.log(
    `one consumer, commitBatch vs unfenced per-action commit: ${(batched.rate / reference.rate).toFixed(1)}× actions/s, ` +
      `${(reference.cpuPerAction / batched.cpuPerAction).toFixed(1)}× less consumer CPU per action`
  )
  const { seconds, stats } = await run("crash", 3, modes[2].sink, true)
  console.log("")
  console.log(
    `kill -9 of 1 of 3 consumers at 40% (commitBatch, fenced), replacement started: ${Math.round(ACTIONS / seconds)} actions/s overall, ` +
      `${stats.duplicates} duplicate commits (${(100 * stats.duplicates / ACTIONS).toFixed(2)}% of ${ACTIONS}), 0 lost, 0 out of order`
  )
} finally {
  for (const child of children) child.process.kill("SIGKILL")
  redis.disconnect()
  await server.stop()
}

/**
 * `node --import tsx bench/capacity.ts`: the capacity model's per-action
 * costs for both transports, measured in one process with an instant
 * `process` (so what is measured is the consumer's own work): consumer CPU
 * µs per action, server CPU µs per action, Redis commands and bytes per
 * action, Kafka log bytes per action. 20,000 actions over 8 partitions.
 * First, without a transport: the partition worker alone with ~800 actions
 * in flight (8 partitions × `concurrency` 100, `process` sleeping 0–20 ms),
 * against `Ordered.forEach` and `Effect.forEach` under the same load, to
 * split the consumer's cost between the engine, the worker and Effect, and
 * again with a per-attempt `timeout`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { Kafka, logLevel } from "kafkajs"
import * as Worker from "../src/internal/partitionWorker.ts"
import { Ordered } from "../src/index.ts"
import { consume as consumeKafka } from "../src/kafka/index.ts"
import { consume as consumeRedis, makeProducer } from "../src/redis/index.ts"
import { startKafka } from "../test/kafka/broker.ts"
import { load, producerOptions, workload } from "../test/kafka/sink.ts"
import { startRedis } from "../test/redis/server.ts"
import { sink } from "../test/redis/sink.ts"
import { printTable } from "./table.ts"

const N = Number(process.env.ACTIONS ?? 20_000)
const P = 8
const perAction = (micros: number) => (micros / N).toFixed(1)
const cpu = () => {
  const { system, user } = process.cpuUsage()
  return system + user
}
const until = async (what: string, done: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + 300_000
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
const rows: Array<Array<string>> = []
const report = (row: Array<string>) => {
  rows.push(row)
  console.log(row.join(" | "))
}

// No transport: CPU per action with ~800 actions in flight, each sleeping 0–20 ms.
{
  const sleeping = <A>(value: A) => Effect.as(Effect.sleep(Math.random() * 20), value)
  const records = Array.from({ length: P }, (_, p) =>
    Array.from({ length: N / P }, (_, i) => ({ position: i, key: `k${p + P * (i % 125)}`, value: `{"seq":${i}}` })))
  const measure = async (step: string, partition: (p: number) => Effect.Effect<unknown>) => {
    await Effect.runPromise(partition(0)) // warm-up, not measured
    const cpu0 = cpu()
    await Effect.runPromise(Effect.forEach(records.keys(), partition, { concurrency: "unbounded", discard: true }))
    report(["none", step, perAction(cpu() - cpu0), "–", "–", "–"])
  }
  await measure("Effect.forEach + Effect.sleep, 8 × concurrency 100, 0–20 ms", (p) =>
    Effect.forEach(records[p], (record) => sleeping(record.position), { concurrency: 100, discard: true }))
  await measure("Ordered.forEach, same load", (p) =>
    Ordered.forEach(records[p], (record) => sleeping(record.position), {
      concurrency: 100, window: 300, order: "key", key: (record) => record.key, discard: true
    }))
  const worker = (timeout: Duration.Duration | undefined) => (p: number) =>
    Worker.run(Stream.fromIterable(records[p]).pipe(Stream.rechunk(500)), {
      concurrency: 100, window: 300, order: "key",
      decode: (record) => Effect.try(() => JSON.parse(record.value) as { seq: number }),
      process: (action) => sleeping(action.seq),
      retry: Schedule.recurs(4), timeout, poison: "dead-letter",
      commit: { _tag: "each", commit: () => Effect.void },
      deadLetter: () => Effect.void, beforeCommit: Effect.void, acknowledge: () => Effect.void
    })
  await measure("partition worker (no transport), same load", worker(undefined))
  // Each attempt on a fiber of its own, one watcher per partition for the deadlines (docs/redis.md, `timeout`).
  await measure("partition worker, timeout: 1 minute, same load", worker(Duration.minutes(1)))
}

// Redis Streams: INFO gives the server's CPU, commands and bytes.
{
  const server = await startRedis()
  const redis = new Redis(server.url, { enableAutoPipelining: true })
  const info = async () => {
    const text = await redis.info()
    const value = (key: string) => Number(text.match(new RegExp(`${key}:([0-9.]+)`))![1])
    return {
      cpu: (value("used_cpu_user") + value("used_cpu_sys")) * 1e6,
      commands: value("total_commands_processed"),
      bytes: value("total_net_input_bytes") + value("total_net_output_bytes")
    }
  }
  const { actions } = workload(N, 200)
  const producer = makeProducer<{ seq: number }>({ redis, prefix: "cost", partitions: P })
  let server0 = await info()
  let cpu0 = cpu()
  await Effect.runPromise(
    Effect.forEach(actions, ({ action, key }) => producer.publish(key, action), { concurrency: 256, discard: true })
  )
  let server1 = await info()
  report(["Redis", "publish", perAction(cpu() - cpu0), perAction(server1.cpu - server0.cpu), ((server1.commands - server0.commands) / N).toFixed(2), ((server1.bytes - server0.bytes) / N).toFixed(0)])
  const applied = sink(redis, "cost-sink")
  const client = new Redis(server.url)
  server0 = await info()
  cpu0 = cpu()
  const fiber = Effect.runFork(consumeRedis({
    redis: client, prefix: "cost", partitions: P, group: "g", consumer: "c", concurrency: 100, pollInterval: 20,
    process: (action: { seq: number }) => Effect.succeed(action.seq),
    commit: (seq, _action, entry) => Effect.promise(() => applied.apply(entry.key, seq))
  }))
  await until("every Redis action applied", async () => (await applied.stats()).applied === N)
  server1 = await info()
  report(["Redis", "consume (commit: one EVAL into the sink)", perAction(cpu() - cpu0), perAction(server1.cpu - server0.cpu), ((server1.commands - server0.commands) / N).toFixed(2), ((server1.bytes - server0.bytes) / N).toFixed(0)])
  await Effect.runPromise(Fiber.interrupt(fiber))
  client.disconnect()
  redis.disconnect()
  await server.stop()
}

// Kafka: the broker's CPU from /proc, its log bytes from disk.
{
  const broker = await startKafka()
  try {
    const brokerCpu = () => {
      const pid = readFileSync(join(broker.dir, "pid"), "utf8").trim()
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
      return (Number(fields[11]) + Number(fields[12])) * 10_000
    }
    const kafka = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    const producer = kafka.producer(producerOptions)
    await Promise.all([admin.connect(), producer.connect()])
    await admin.createTopics({ topics: [{ topic: "cost", numPartitions: P }], waitForLeaders: false })
    await until("the topic's leaders", async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: ["cost"] })
      return topics[0].partitions.length === P && topics[0].partitions.every((p) => p.leader >= 0)
    })
    const { actions } = workload(N, 1000)
    let broker0 = brokerCpu()
    let cpu0 = cpu()
    await load(producer, "cost", actions)
    const data = join(broker.dir, "data")
    let logBytes = 0
    for (const dir of readdirSync(data).filter((name) => name.startsWith("cost-"))) {
      for (const file of readdirSync(join(data, dir))) if (file.endsWith(".log")) logBytes += statSync(join(data, dir, file)).size
    }
    report(["Kafka", "publish (batches of 500)", perAction(cpu() - cpu0), perAction(brokerCpu() - broker0), "–", `${(logBytes / N).toFixed(0)} (log)`])
    let committed = 0
    broker0 = brokerCpu()
    cpu0 = cpu()
    const fiber = Effect.runFork(consumeKafka({
      brokers: broker.brokers, topic: "cost", group: "g", concurrency: 100,
      process: (action: { seq: number }) => Effect.succeed(action.seq),
      commit: () => Effect.sync(() => void committed++)
    }))
    await until("every Kafka record committed", () => committed === N)
    report(["Kafka", "consume (commit: in memory)", perAction(cpu() - cpu0), perAction(brokerCpu() - broker0), "–", "–"])
    await Effect.runPromise(Fiber.interrupt(fiber))
    let seen = 0
    const baseline = kafka.consumer({ groupId: "baseline", maxWaitTimeInMs: 100 })
    await baseline.connect()
    await baseline.subscribe({ topics: ["cost"], fromBeginning: true })
    broker0 = brokerCpu()
    cpu0 = cpu()
    await baseline.run({
      partitionsConsumedConcurrently: 8,
      eachMessage: async ({ message }) => void (JSON.parse(message.value!.toString()), seen++)
    })
    await until("every record seen by eachMessage", () => seen === N)
    report(["Kafka", "KafkaJS eachMessage (baseline)", perAction(cpu() - cpu0), perAction(brokerCpu() - broker0), "–", "–"])
    await baseline.disconnect()
    await Promise.allSettled([admin.disconnect(), producer.disconnect()])
  } finally {
    await broker.stop()
  }
}

printTable(`Per-action costs, ${N} actions, ${P} partitions, instant process unless said`, [
  "transport", "step", "client CPU µs/action", "server CPU µs/action", "commands/action", "bytes/action"
], rows)

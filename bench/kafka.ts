/**
 * `npm run bench:kafka`: one consumer process of `effect-ordered/kafka`
 * against KafkaJS's own `eachMessage` with `partitionsConsumedConcurrently: 8`
 * (the baseline TypeScript users have today), on the same local broker in the
 * same run: actions/s, and duplicate commits after a `kill -9`.
 *
 * Setup: one Kafka 4 broker (scripts/kafka.sh), 8 partitions, 1000 keys,
 * each action's `process` sleeps uniform 0–20 ms (an I/O-bound action), the
 * commit appends a line to a file shared by all consumers (the tests' sink).
 * The consumer joins and is given all partitions, then applies 2,000
 * warm-up actions, before the actions are published; the time runs from
 * the first publish to the last commit (its time in the sink). The
 * consumers run as compiled by `tsc -p tsconfig.bench.json` (the npm script
 * compiles first), as the package runs for its users: tsx's name-keeping
 * wrappers cost about 5% of the consumer's CPU.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import type { ConsumerConfig } from "../test/kafka/consumer.ts"
import { load, readSink, replay, workload } from "../test/kafka/sink.ts"
import { waitFor } from "../test/redis/server.ts"
import { assignedPartitions, cpuOf, startBench } from "./kafkaShared.ts"
import { type Child, spawnScript } from "../test/utils/child.ts"
import { printTable, ratio } from "./table.ts"
import { line } from "./line.ts"

const P = 8
const KEYS = 1000
const ACTIONS = Number(process.env.ACTIONS ?? 10_000)
const WARMUP = 2_000
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 100)

const { broker, admin, producer, dir, stop } = await startBench("kafka-bench")
const children: Array<Child> = []

const brokerCpu = () => cpuOf(readFileSync(join(broker.dir, "pid"), "utf8").trim())

/** Bytes of `topic`'s log segments on the broker's disk. */
const topicBytes = (topic: string): number => {
  const data = join(broker.dir, "data")
  let bytes = 0
  for (const partition of readdirSync(data).filter((name) => name.startsWith(`${topic}-`))) {
    for (const file of readdirSync(join(data, partition))) if (file.endsWith(".log")) bytes += statSync(join(data, partition, file)).size
  }
  return bytes
}


const run = async (name: string, baseline: boolean, crash: boolean) => {
  const topic = name
  await admin.createTopics({ topics: [{ topic, numPartitions: P }], waitForLeaders: false })
  await waitFor(`${topic} ready`, async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    return topics[0].partitions.length === P && topics[0].partitions.every((p) => p.leader >= 0)
  })
  const sink = join(dir, `${name}.jsonl`)
  const config = (consumer: string): ConsumerConfig => ({
    brokers: broker.brokers, topic, group: name, consumer, sink, concurrency: CONCURRENCY,
    maxLatencyMs: 20, sessionTimeoutMs: 6000, baseline
  })
  const start = (consumer: string) => {
    const child = spawnScript(consumer, "build/test/kafka/consumer.js", config(consumer), line)
    children.push(child)
    return child
  }
  const first = start(`${name}-1`)
  await waitFor("the consumer holding all partitions", async () => (await assignedPartitions(admin, name)) === P, 120_000)
  // A consumer runs for hours: the warm-up's actions (keys of their own) take its JIT compilation out of the timing.
  const warm = workload(WARMUP, KEYS).actions.map(({ action, key }) => ({ key: `warm-${key}`, action }))
  await load(producer, topic, warm)
  await waitFor("the warm-up applied", async () => replay(sink).applied === WARMUP, 600_000)
  const { actions, expected } = workload(ACTIONS, KEYS)
  // CPU from here on: the consumer's start-up and warm-up are not per-action cost.
  const broker0 = brokerCpu()
  const consumer0 = cpuOf(first.process.pid!)
  const t0 = Date.now()
  await load(producer, topic, actions)
  const published = (Date.now() - t0) / 1000
  if (crash) {
    await waitFor("40% applied", async () => replay(sink).applied >= WARMUP + ACTIONS * 0.4, 600_000)
    first.process.kill("SIGKILL")
    await first.exited
    start(`${name}-2`)
  }
  await waitFor("every action applied", async () => replay(sink).applied === WARMUP + ACTIONS, 900_000)
  const brokerMicros = brokerCpu() - broker0
  const consumerMicros = crash ? NaN : cpuOf(first.process.pid!) - consumer0
  const stats = replay(sink)
  // To the last commit's own time: the polls above would add up to a poll's interval and a read of the sink.
  const seconds = (readSink(sink).reduce((last, line) => Math.max(last, line.at), t0) - t0) / 1000
  if (stats.gaps.length > 0) throw new Error(`${name}: order violated: ${stats.gaps.slice(0, 10).join(", ")}`)
  const keys = Object.keys(expected)
  if (keys.some((key) => stats.last[key] !== expected[key])) throw new Error(`${name}: final sequence numbers differ`)
  for (const child of children.splice(0)) {
    child.process.kill("SIGTERM")
    await child.exited
  }
  return {
    perSecond: ACTIONS / seconds,
    published,
    duplicates: stats.duplicates,
    seconds,
    consumerMicros: consumerMicros / ACTIONS,
    brokerMicros: brokerMicros / ACTIONS,
    bytes: topicBytes(topic) / ACTIONS
  }
}

console.log(`Kafka: ${ACTIONS} actions, ${KEYS} keys, ${P} partitions, process sleeps 0–20 ms, one consumer process`)
console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} (broker, producer and consumer share them)`)
try {
  const ours = await run("ordered", false, false)
  const base = await run("eachmessage", true, false)
  const oursCrash = await run("ordered-crash", false, true)
  const baseCrash = await run("eachmessage-crash", true, true)
  printTable("One consumer process, same broker, same run", [
    "consumer", "actions/s", "vs baseline", "duplicates after kill -9 at 40%"
  ], [
    [`effect-ordered/kafka, concurrency ${CONCURRENCY} per partition`, Math.round(ours.perSecond).toString(), ratio(ours.perSecond, base.perSecond), `${oursCrash.duplicates}`],
    ["KafkaJS eachMessage, partitionsConsumedConcurrently 8", Math.round(base.perSecond).toString(), "1×", `${baseCrash.duplicates}`]
  ])
  const times = ours.perSecond / base.perSecond
  console.log(`\n10× target: ${times >= 10 ? "met" : "NOT met"} (${times.toFixed(2)}×); fewer than 1,000 duplicates after kill -9: ${oursCrash.duplicates < 1000 ? "met" : "NOT met"} (${oursCrash.duplicates})`)
  console.log(`(publishing the ${ACTIONS} actions took ${ours.published.toFixed(2)} s of effect-ordered/kafka's ${ours.seconds.toFixed(2)} s)`)

  // The capacity model's inputs, measured in this run, and its one-machine prediction.
  const meanLatency = 0.010
  const inFlight = (c: number) => P * Math.min(c, KEYS / P)
  const model = (name: string, r: typeof ours, c: number) => {
    const cpuShare = (r.consumerMicros * ACTIONS) / (r.seconds * 1e6)
    const byConcurrency = inFlight(c) / meanLatency
    const byCpu = 1e6 / r.consumerMicros
    return [
      name, r.consumerMicros.toFixed(0), r.brokerMicros.toFixed(1), r.bytes.toFixed(0), cpuShare.toFixed(2),
      Math.round(byConcurrency).toString(), Math.round(byCpu).toString(), Math.round(Math.min(byConcurrency, byCpu)).toString(),
      Math.round(r.perSecond).toString()
    ]
  }
  printTable("Capacity model inputs (measured) and the one-machine prediction", [
    "consumer", "consumer CPU µs/action", "broker CPU µs/action", "log bytes/action", "cores it got",
    "bound: in flight / latency", "bound: 1 core / CPU", "predicted on 1 free core", "measured"
  ], [model("effect-ordered/kafka", ours, CONCURRENCY), model("KafkaJS eachMessage", base, 1)])
} finally {
  for (const child of children) child.process.kill("SIGKILL")
  await stop()
}

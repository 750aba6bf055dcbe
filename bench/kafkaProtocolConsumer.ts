/**
 * One consumer process of `bench/kafka-protocols.ts`:
 * `node --import tsx bench/kafkaProtocolConsumer.ts '<json config>'`.
 * Every client does the same work: up to `window` records of a partition in
 * flight, each sleeping uniform 0–`maxLatencyMs`, each completion appended to
 * the sink (`s` as it starts, `p` as it completes); the partition's contiguous completed offset is
 * committed to the group (every 100 ms, and on a revoke where the client
 * lets the revoke wait). SIGTERM leaves gracefully: drain, commit, leave.
 *
 * - `consume`: `effect-ordered/kafka` itself (KafkaJS, the classic protocol,
 *   eager), `order: "none"`, its `commit` appended as a `commit` line.
 * - `platformatic`: `@platformatic/kafka` with `groupProtocol: "consumer"`
 *   (KIP-848). It acknowledges a revoke on its own, before the application
 *   hears of it: a revoked partition's run is stopped when the assignment
 *   shows it gone, without committing (its next owner may already read it).
 * - `confluent`: `@confluentinc/kafka-javascript`'s KafkaJS-style API, with
 *   `eachBatch` (a batch is at most `window` records, processed at once, then
 *   committed). Its revoke waits for the batches in flight, so a revoked
 *   partition is drained and committed before librdkafka gives it up.
 */
import { appendFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { consume } from "../src/kafka/index.ts"
import { confluentPackage, type ProtocolConsumerConfig, type SinkLine } from "./kafkaShared.ts"

const config: ProtocolConsumerConfig = JSON.parse(process.argv[2])

const write = (line: SinkLine) => appendFileSync(config.sink, `${JSON.stringify(line)}\n`)
/** Appends that this consumer started (`s`) or completed (`p`) processing a record, or committed it (`c`). */
const record = (k: "s" | "p" | "c", p: number, o: number) => write({ c: config.consumer, k, p, o, at: Date.now() })
const refused = () => write({ c: config.consumer, mark: "refused", at: Date.now() })
const latency = () => Math.random() * config.maxLatencyMs
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const commitIntervalMs = 100

const runConsume = () => {
  const { brokers, consumer, group, topic } = config
  const fiber = Effect.runFork(
    consume({
      brokers,
      topic,
      group,
      consumer,
      concurrency: config.window,
      window: config.window,
      order: "none",
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
      commitInterval: commitIntervalMs,
      process: (_action: unknown, { offset, partition }) =>
        Effect.sync(() => record("s", partition, offset)).pipe(
          Effect.andThen(Effect.sleep(latency())),
          Effect.andThen(Effect.sync(() => record("p", partition, offset)))
        ),
      commit: (_result, _action, { offset, partition }) => Effect.sync(() => record("c", partition, offset))
    })
  )
  process.once("SIGTERM", () => Effect.runFork(Fiber.interrupt(fiber)))
  fiber.addObserver(() => process.exit(0))
}

/** One partition's work under a raw client: a window of records in flight, the contiguous completed offset. */
class PartitionRun {
  private readonly queue: Array<number> = []
  private readonly inFlight = new Set<{ aborted: boolean }>()
  private readonly done = new Set<number>()
  /** The lowest offset not completed: what a commit sends. */
  next = -1
  committed = -1
  private highest = -1
  private stopped = false

  constructor(readonly partition: number) {}

  get queued() {
    return this.queue.length
  }

  /** Takes `offset` unless it was taken already (a client may fetch again from the last commit). */
  push(offset: number) {
    if (this.stopped || offset <= this.highest) return
    if (this.next < 0) this.next = offset
    this.highest = offset
    this.queue.push(offset)
    this.pump()
  }

  private pump() {
    while (!this.stopped && this.inFlight.size < config.window && this.queue.length > 0) {
      const offset = this.queue.shift()!
      const token = { aborted: false }
      this.inFlight.add(token)
      record("s", this.partition, offset)
      void sleep(latency()).then(() => {
        this.inFlight.delete(token)
        if (token.aborted) return
        record("p", this.partition, offset)
        this.done.add(offset)
        while (this.done.delete(this.next)) this.next++
        this.pump()
      })
    }
  }

  /** The partition is gone: nothing more is processed or committed. */
  abort() {
    this.stopped = true
    this.queue.length = 0
    for (const token of this.inFlight) token.aborted = true
    this.inFlight.clear()
  }

  /** Stops taking records and waits for those in flight. */
  async drain() {
    this.stopped = true
    this.queue.length = 0
    while (this.inFlight.size > 0) await sleep(2)
  }
}

const runPlatformatic = async () => {
  const { Consumer } = await import("@platformatic/kafka")
  const consumer = new Consumer({
    clientId: config.consumer,
    bootstrapBrokers: [...config.brokers],
    groupId: config.group,
    groupProtocol: "consumer",
    autocommit: false,
    maxWaitTime: 100
  })
  const runs = new Map<number, PartitionRun>()
  const assigned = () => new Set(consumer.assignments?.flatMap((a) => (a.topic === config.topic ? a.partitions : [])) ?? [])
  // The client acknowledged the revoke already: stop what it took from the partitions it gave up.
  consumer.on("consumer:heartbeat:end", () => {
    const current = assigned()
    for (const [partition, run] of runs) {
      if (!current.has(partition)) {
        run.abort()
        runs.delete(partition)
      }
    }
  })
  const commit = async (only?: ReadonlyArray<PartitionRun>) => {
    const due = (only ?? [...runs.values()]).filter((run) => run.next > run.committed)
    if (due.length === 0) return
    const offsets = due.map((run) => ({ topic: config.topic, partition: run.partition, offset: BigInt(run.next), leaderEpoch: -1 }))
    const marks = due.map((run) => run.next)
    try {
      await consumer.commit({ offsets })
      due.forEach((run, i) => (run.committed = Math.max(run.committed, marks[i])))
    } catch {
      // Refused (a stale member epoch during a rebalance): the next round or the next owner redoes it.
      refused()
    }
  }
  const timer = setInterval(() => void commit(), commitIntervalMs)
  const stream = await consumer.consume({ topics: [config.topic], mode: "committed", fallbackMode: "earliest", autocommit: false, maxWaitTime: 100 })
  let leaving = false
  process.once("SIGTERM", async () => {
    leaving = true
    clearInterval(timer)
    const held = [...runs.values()]
    await Promise.all(held.map((run) => run.drain()))
    await commit(held)
    await consumer.close(true)
    process.exit(0)
  })
  const limit = config.partitions * config.window * 4
  for await (const message of stream) {
    if (leaving) break
    if (!assigned().has(message.partition)) continue
    let run = runs.get(message.partition)
    if (run === undefined) runs.set(message.partition, (run = new PartitionRun(message.partition)))
    run.push(Number(message.offset))
    while ([...runs.values()].reduce((n, r) => n + r.queued, 0) > limit) await sleep(5)
  }
}

/** What the bench uses of `@confluentinc/kafka-javascript`, which is not a dependency (see bench/kafka-protocols.ts). */
interface Confluent {
  readonly KafkaJS: {
    readonly Kafka: new (config: object) => { readonly consumer: (config: object) => ConfluentConsumer }
    readonly logLevel: { readonly NOTHING: number }
    readonly PartitionAssigners: { readonly roundRobin: string; readonly cooperativeSticky: string }
  }
}

interface ConfluentConsumer {
  readonly connect: () => Promise<void>
  readonly subscribe: (options: { readonly topics: Array<string> }) => Promise<void>
  readonly run: (options: {
    readonly partitionsConsumedConcurrently: number
    readonly eachBatch: (payload: { readonly batch: { readonly partition: number; readonly messages: ReadonlyArray<{ readonly offset: string }> } }) => Promise<void>
  }) => Promise<void>
  readonly commitOffsets: (offsets: Array<{ readonly topic: string; readonly partition: number; readonly offset: string }>) => Promise<void>
  readonly disconnect: () => Promise<void>
}

const runConfluent = async () => {
  const { KafkaJS }: Confluent = await import(confluentPackage)
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [...config.brokers], logLevel: KafkaJS.logLevel.NOTHING } })
  const classic = config.protocol !== "consumer"
  const assigner = config.protocol === "cooperative" ? KafkaJS.PartitionAssigners.cooperativeSticky : KafkaJS.PartitionAssigners.roundRobin
  const consumer = kafka.consumer({
    kafkaJS: {
      groupId: config.group,
      fromBeginning: true,
      autoCommit: false,
      ...(classic ? { sessionTimeout: 6000, heartbeatInterval: 1000, partitionAssigners: [assigner] } : {})
    },
    ...(classic ? {} : { "group.protocol": "consumer" }),
    "js.consumer.max.batch.size": config.window
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [config.topic] })
  await consumer.run({
    partitionsConsumedConcurrently: config.partitions,
    eachBatch: async ({ batch }) => {
      await Promise.all(batch.messages.map(async (message) => {
        record("s", batch.partition, Number(message.offset))
        await sleep(latency())
        record("p", batch.partition, Number(message.offset))
      }))
      const next = Number(batch.messages[batch.messages.length - 1].offset) + 1
      await consumer.commitOffsets([{ topic: config.topic, partition: batch.partition, offset: String(next) }]).catch((error) => {
        refused()
        throw error
      })
    }
  })
  process.once("SIGTERM", async () => {
    await consumer.disconnect()
    process.exit(0)
  })
}

write({ c: config.consumer, mark: "joining", at: Date.now() })
if (config.client === "consume") runConsume()
else if (config.client === "platformatic") void runPlatformatic()
else void runConfluent()

/**
 * A consumer process for the Kafka tests and the benchmark:
 * `node --import tsx test/kafka/consumer.ts '<json config>'`. Processes each
 * action with a random latency and appends every commit to the sink file
 * (test/kafka/sink.ts); SIGTERM or SIGINT stops it gracefully (drain,
 * commit, leave the group). With `baseline: true` it is KafkaJS's own
 * `eachMessage` with `partitionsConsumedConcurrently: 8` instead (the
 * benchmark's baseline), doing the same work.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { Kafka, logLevel } from "kafkajs"
import { consume } from "../../src/kafka/index.ts"
import { type Action, appendCommit } from "./sink.ts"
import { checkLine } from "../utils/child.ts"
import { consoleLogFmt, isInterrupted, line, withLogging } from "../utils/line.ts"

checkLine(line)

export interface ConsumerConfig {
  readonly brokers: ReadonlyArray<string>
  readonly topic: string
  readonly group: string
  readonly consumer: string
  /** The file every commit is appended to. */
  readonly sink: string
  readonly concurrency: number
  /** Default: "auto". The process tests give a fixed one: they bound duplicates in windows. */
  readonly window?: number | undefined
  readonly maxLatencyMs: number
  readonly sessionTimeoutMs: number
  /** Default: `consume`'s own. */
  readonly commitIntervalMs?: number | undefined
  readonly baseline?: boolean
}

const config: ConsumerConfig = JSON.parse(process.argv[2])

const latency = () => Math.random() * config.maxLatencyMs

const baseline = async () => {
  const consumer = new Kafka({ clientId: config.consumer, brokers: [...config.brokers], logLevel: logLevel.NOTHING })
    .consumer({ groupId: config.group, sessionTimeout: config.sessionTimeoutMs, heartbeatInterval: Math.floor(config.sessionTimeoutMs / 6), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topics: [config.topic], fromBeginning: true })
  await consumer.run({
    partitionsConsumedConcurrently: 8,
    eachMessage: async ({ partition, message }) => {
      const action: Action = JSON.parse(message.value!.toString())
      await new Promise((resolve) => setTimeout(resolve, latency()))
      const record = { topic: config.topic, partition, offset: Number(message.offset), key: message.key!.toString() }
      appendCommit(config.sink, config.consumer, record, action.seq)
    }
  })
  const stop = () => void consumer.disconnect().then(() => process.exit(0))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}

if (config.baseline) {
  void baseline()
} else {
  const fiber = Effect.runFork(
    consume({
      brokers: config.brokers,
      topic: config.topic,
      group: config.group,
      consumer: config.consumer,
      concurrency: config.concurrency,
      window: config.window,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.floor(config.sessionTimeoutMs / 6),
      commitInterval: config.commitIntervalMs,
      drainTimeout: config.sessionTimeoutMs,
      process: (action: Action) => Effect.as(Effect.sleep(latency()), action.seq),
      commit: (seq, _action, record) => Effect.sync(() => appendCommit(config.sink, config.consumer, record, seq))
    }).pipe(
      // logfmt on both lines: kafka.test.ts reads the time of a warning from its `timestamp=`
      withLogging({ minimum: process.env.CONSUMER_DEBUG ? "Debug" : "Info", logger: consoleLogFmt, replace: true })
    )
  )
  const stop = () => Effect.runFork(Fiber.interrupt(fiber))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  fiber.addObserver((exit) => process.exit(Exit.isFailure(exit) && !isInterrupted(exit) ? 1 : 0))
}

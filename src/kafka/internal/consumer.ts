import type * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Consumer as KafkaConsumer, EachBatchPayload } from "kafkajs"
import * as Checkpoint from "../../Checkpoint.ts"
import * as Worker from "../../internal/partitionWorker.ts"
import * as V from "../../internal/validate.ts"
import { KafkaError } from "../errors.ts"
import type { ConsumeOptions, Record } from "../index.ts"
import { brokerList, call, client, nonEmptyString } from "./client.ts"
import { isLostSession } from "./fence.ts"
import { PRODUCER_OPTIONS } from "./producer.ts"

/**
 * The Kafka adapter of the partition worker: KafkaJS's group membership
 * decides which partitions this consumer runs; each partition it is given
 * gets a `Run` (a queue fed by KafkaJS's fetches, a partition worker, and a
 * checkpoint committed to Kafka with its completed offsets as metadata).
 *
 * @internal
 */

/** The options with every default filled in: the required ones as given, the rest resolved. */
interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<
    ConsumeOptions<A, B, E1, R1, E2, R2>,
    "brokers" | "topic" | "group" | "process" | "commit" | "concurrency"
  >
{
  readonly consumer: string
  readonly window: number
  readonly order: Worker.OrderBy
  readonly decode: (value: string) => Effect.Effect<A, unknown>
  readonly retry: Schedule.Schedule<unknown, E1 | Cause.TimeoutException, never>
  readonly timeout: Duration.Duration | undefined
  readonly poison: Worker.PoisonPolicy
  readonly deadLetterTopic: string
  readonly commitInterval: Duration.Duration
  readonly drainTimeout: Duration.Duration
  readonly sessionTimeout: number
  readonly heartbeatInterval: number
  readonly rebalanceTimeout: number
  readonly maxWaitTime: number
}

const DEFAULT_RETRY: Schedule.Schedule<unknown, unknown> = Schedule.intersect(
  Schedule.exponential("100 millis"),
  Schedule.recurs(4)
)

const millis = (path: string, value: unknown, fallback: Duration.DurationInput): number =>
  Duration.toMillis(V.optionalPositiveDuration(path, value) ?? fallback)

const resolve = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Resolved<A, B, E1, R1, E2, R2> => {
  V.record("options", options)
  const concurrency = V.integerAtLeast("options.concurrency", options.concurrency, 1)
  const topic = nonEmptyString("options.topic", options.topic)
  const group = nonEmptyString("options.group", options.group)
  if (options.retry !== undefined && !Schedule.isSchedule(options.retry)) {
    throw V.invalid("options.retry", "a Schedule", options.retry)
  }
  if (options.schema !== undefined && !Schema.isSchema(options.schema)) {
    throw V.invalid("options.schema", "a Schema", options.schema)
  }
  const schema = options.schema
  const sessionTimeout = millis("options.sessionTimeout", options.sessionTimeout, "30 seconds")
  const heartbeatInterval = millis("options.heartbeatInterval", options.heartbeatInterval, Math.min(3000, sessionTimeout / 3))
  if (heartbeatInterval >= sessionTimeout) {
    throw V.invalid("options.heartbeatInterval", `below options.sessionTimeout (${sessionTimeout} ms)`, options.heartbeatInterval)
  }
  const parse = (value: string) => Effect.try(() => JSON.parse(value) as unknown)
  return {
    brokers: brokerList("options.brokers", options.brokers),
    topic,
    group,
    consumer: options.consumer === undefined
      ? `${group}-${Math.random().toString(36).slice(2, 10)}`
      : nonEmptyString("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: V.fn("options.commit", options.commit),
    concurrency,
    window: options.window === undefined
      ? 3 * concurrency
      : V.integerAtLeast("options.window", options.window, concurrency, `an integer ≥ concurrency (${concurrency})`),
    order: options.order === undefined ? "key" : V.oneOf("options.order", options.order, ["key", "partition", "none"]),
    decode: schema === undefined
      ? (value) => parse(value) as Effect.Effect<A, unknown>
      : (value) => Effect.flatMap(parse(value), Schema.decodeUnknown(schema)),
    retry: options.retry ?? DEFAULT_RETRY,
    timeout: V.optionalPositiveDuration("options.timeout", options.timeout),
    poison: options.poison === undefined ? "dead-letter" : V.oneOf("options.poison", options.poison, ["dead-letter", "halt-key"]),
    deadLetterTopic: options.deadLetterTopic === undefined
      ? `${topic}.dlq`
      : nonEmptyString("options.deadLetterTopic", options.deadLetterTopic),
    commitInterval: V.optionalPositiveDuration("options.commitInterval", options.commitInterval) ?? Duration.seconds(1),
    drainTimeout: V.optionalPositiveDuration("options.drainTimeout", options.drainTimeout) ?? Duration.seconds(10),
    sessionTimeout,
    heartbeatInterval,
    rebalanceTimeout: millis("options.rebalanceTimeout", options.rebalanceTimeout, "60 seconds"),
    maxWaitTime: millis("options.maxWaitTime", options.maxWaitTime, "100 millis")
  }
}

/** @internal */
export const skippedRecords: Metric.Metric.Counter<number> = Metric.counter("effect_ordered_kafka_skipped_records", {
  description: "Records skipped because the commit metadata marked them done"
})

/** A fetched record as the partition worker sees it. */
interface Rec extends Worker.WorkerRecord {
  readonly position: number
  readonly record: Record
  readonly value: Buffer | null
}

/** Kafka keeps at most this much commit metadata per partition (`offset.metadata.max.bytes`, default 4096). */
const MAX_METADATA = 4096

const errorText = (error: unknown): string => {
  if (error instanceof Error) return error.message
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/** One partition under one assignment: from its checkpoint to a drain, a failure or an interruption. */
interface Run {
  readonly partition: number
  readonly queue: Queue.Queue<Rec | null>
  /** False once the run stops taking records (it drains what it took). */
  taking: boolean
  paused: boolean
  /** The next offset to take: records fetched again below it are already in the run. */
  nextOffset: number
  fiber: Fiber.RuntimeFiber<void> | undefined
}

/** @internal */
export const consume = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Effect.Effect<never, KafkaError, R1 | R2> =>
  Effect.suspend(() => {
    const o = resolve(options)
    return Effect.scoped(Effect.gen(function*() {
      const runtime = yield* Effect.runtime<R1 | R2>()
      const runFork = Runtime.runFork(runtime)
      const kafka = client(o.consumer, o.brokers)
      const consumer: KafkaConsumer = kafka.consumer({
        groupId: o.group,
        sessionTimeout: o.sessionTimeout,
        heartbeatInterval: o.heartbeatInterval,
        rebalanceTimeout: o.rebalanceTimeout,
        maxWaitTimeInMs: o.maxWaitTime,
        retry: { retries: 8 }
      })
      const admin = kafka.admin()
      const deadLetters = kafka.producer(PRODUCER_OPTIONS)
      yield* Effect.acquireRelease(
        call("connect", () => Promise.all([consumer.connect(), admin.connect(), deadLetters.connect()])),
        () =>
          Effect.ignore(call("disconnect", () =>
            Promise.allSettled([consumer.disconnect(), admin.disconnect(), deadLetters.disconnect()])
          ))
      )
      const crashed = yield* Deferred.make<never, KafkaError>()
      const runs = new Map<number, Run>()
      const topicPartition = (partition: number) => [{ topic: o.topic, partitions: [partition] }]

      /** The committed offset of `partition` and the completed offsets above it, from the commit metadata. */
      const loadCheckpoint = (partition: number) =>
        call("fetch offsets", () => admin.fetchOffsets({ groupId: o.group, topics: [o.topic] })).pipe(
          Effect.map((topics) => {
            const found = topics[0]?.partitions.find((p) => p.partition === partition)
            const offset = found === undefined ? -1 : Number(found.offset)
            if (offset < 0) return undefined
            const decoded = found?.metadata ? Checkpoint.decode(found.metadata) : undefined
            return decoded !== undefined && decoded._tag === "Right" && decoded.right.committed === offset - 1
              ? decoded.right
              : Checkpoint.make(offset)
          }),
          Effect.tapError((error) => Effect.logWarning(`partition ${partition}: reading the checkpoint failed; retrying`, error)),
          Effect.retry(Schedule.spaced("1 second"))
        )

      const deadLetter = (poisoned: Worker.Poisoned<Rec>) =>
        call("send dead letter", () =>
          deadLetters.send({
            topic: o.deadLetterTopic,
            messages: [{
              key: poisoned.record.record.key,
              value: poisoned.record.value,
              headers: {
                error: errorText(poisoned.error),
                attempts: String(poisoned.attempts),
                topic: o.topic,
                partition: String(poisoned.record.record.partition),
                offset: String(poisoned.record.position),
                consumer: o.consumer
              }
            }]
          })).pipe(Effect.asVoid)

      /** Processes `run`'s records from the partition's checkpoint until the run drains or fails. */
      const work = (run: Run) =>
        Effect.gen(function*() {
          const { partition } = run
          let checkpoint = yield* loadCheckpoint(partition)
          yield* Effect.logDebug(
            checkpoint === undefined
              ? "partition taken; no offset committed yet"
              : `partition taken from offset ${checkpoint.committed + 1}, ${checkpoint.above.length} done above it`
          )
          let dirty = false
          const commitOffsets = Effect.suspend(() => {
            if (!dirty || checkpoint === undefined) return Effect.void
            dirty = false
            const encoded = Checkpoint.encode(checkpoint)
            // Too many completed offsets above a stuck one: commit the offset alone (they are redone after a restart).
            const metadata = encoded.length <= MAX_METADATA ? encoded : String(checkpoint.committed)
            const offset = String(checkpoint.committed + 1)
            // Failed or cut short (a drain ending the commit loop): the next commit sends it again.
            return call("commit offsets", () => consumer.commitOffsets([{ topic: o.topic, partition, offset, metadata }]))
              .pipe(Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => (dirty = true))))
          })
          // A commit the group refuses because it no longer knows this member ends the run at once.
          const commitEvery = commitOffsets.pipe(
            Effect.catchAll((error) =>
              isLostSession(error, false) ? Effect.fail(error) : Effect.logDebug("commit of offsets failed; retrying", error)
            ),
            Effect.delay(o.commitInterval),
            Effect.forever
          )
          const take = Effect.flatMap(Queue.takeBetween(run.queue, 1, 1024), (chunk) => {
            if (!run.taking) return Effect.fail(Option.none())
            if (run.paused && run.queue.unsafeSize().pipe(Option.getOrElse(() => 0)) < o.window / 2) {
              run.paused = false
              consumer.resume(topicPartition(partition))
            }
            const records: Array<Rec> = []
            let skipped = 0
            for (const rec of chunk) {
              if (rec === null) return Effect.fail(Option.none())
              checkpoint ??= Checkpoint.make(rec.position)
              if (!Checkpoint.isCompleted(checkpoint, rec.position)) records.push(rec)
              else if (rec.position > checkpoint.committed) skipped++
            }
            const taken = Chunk.unsafeFromArray(records)
            return skipped === 0 ? Effect.succeed(taken) : Effect.as(Metric.incrementBy(skippedRecords, skipped), taken)
          })
          const records = Stream.repeatEffectChunkOption(
            Effect.suspend(() => run.taking ? take : Effect.fail(Option.none()))
          )
          const processing = Worker.run<Rec, A, B, E1, R1, E2 | KafkaError, R2, never, never>(records, {
            concurrency: o.concurrency,
            window: o.window,
            order: o.order,
            decode: (rec) =>
              rec.value === null ? Effect.fail(new Error("the record has no value")) : o.decode(rec.value.toString()),
            process: (action, rec) => o.process(action, rec.record),
            retry: o.retry,
            timeout: o.timeout,
            poison: o.poison,
            commit: { _tag: "each", commit: (p) => o.commit(p.result, p.action, p.record.record) },
            deadLetter,
            beforeCommit: Effect.void,
            acknowledge: (finished) =>
              Effect.sync(() => {
                for (const rec of finished) checkpoint = Checkpoint.complete(checkpoint!, rec.position)
                dirty = true
              })
          })
          yield* Effect.raceFirst(processing, commitEvery)
          yield* commitOffsets
          yield* Effect.logDebug("partition drained and committed")
        }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning(`partition ${run.partition} stopped; it starts again from its last commit`, cause).pipe(
              Effect.zipRight(restartAfterFailure(run))
            )
          ),
          Effect.annotateLogs({ consumer: o.consumer, partition: run.partition })
        )

      /** After a failure, the partition (if still this run's) starts over from its committed offset. */
      const restartAfterFailure = (run: Run) =>
        Effect.sleep("1 second").pipe(
          Effect.zipRight(call("fetch offsets", () => admin.fetchOffsets({ groupId: o.group, topics: [o.topic] }))),
          Effect.flatMap((topics) =>
            Effect.sync(() => {
              if (runs.get(run.partition) !== run) return
              const offset = topics[0]?.partitions.find((p) => p.partition === run.partition)?.offset ?? "-1"
              run.taking = false
              start(run.partition, undefined)
              consumer.seek({ topic: o.topic, partition: run.partition, offset: Number(offset) < 0 ? "0" : offset })
            })
          ),
          Effect.ignore
        )

      /** Starts a run of `partition` once `previous` (its last run, draining) has ended. */
      const start = (partition: number, previous: Fiber.RuntimeFiber<void> | undefined): Run => {
        const run: Run = { partition, queue: Effect.runSync(Queue.unbounded()), taking: true, paused: false, nextOffset: 0, fiber: undefined }
        runs.set(partition, run)
        consumer.resume(topicPartition(partition))
        run.fiber = runFork(
          (previous === undefined ? Effect.void : Fiber.await(previous)).pipe(Effect.zipRight(work(run)))
        )
        return run
      }

      /** Stops taking records; what was taken is finished and committed within `drainTimeout`, then interrupted. */
      const drain = (run: Run): Effect.Effect<void> => {
        if (run.taking) {
          run.taking = false
          run.paused = true
          consumer.pause(topicPartition(run.partition))
          Queue.unsafeOffer(run.queue, null)
        }
        const fiber = run.fiber!
        // Interruptible: in a finalizer (shutdown) the timeout could not cut the wait otherwise.
        return Effect.interruptible(Fiber.await(fiber)).pipe(
          Effect.timeout(o.drainTimeout),
          Effect.catchAll(() => Fiber.interrupt(fiber)),
          Effect.asVoid
        )
      }

      const log = (message: string) => runFork(Effect.logDebug(message).pipe(Effect.annotateLogs({ consumer: o.consumer })))
      consumer.on(consumer.events.REBALANCING, () => {
        log(`rebalancing: draining partitions ${[...runs.keys()].join(",")}`)
        for (const run of runs.values()) runFork(drain(run))
      })
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const assigned = new Set(payload.memberAssignment[o.topic] ?? [])
        log(`joined: assigned partitions ${[...assigned].join(",")}`)
        for (const [partition, run] of runs) {
          if (!assigned.has(partition)) {
            // Another consumer owns it now: stop at once.
            runs.delete(partition)
            runFork(Fiber.interrupt(run.fiber!))
          } else if (run.taking) {
            runFork(drain(run))
          }
        }
        for (const partition of assigned) start(partition, runs.get(partition)?.fiber)
      })
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) Deferred.unsafeDone(crashed, Exit.fail(new KafkaError({ operation: "consume", cause: payload.error })))
      })

      // Takes a fetched batch into the partition's queue; KafkaJS awaits nothing more of it.
      const takeBatch = ({ batch, resolveOffset }: EachBatchPayload): void => {
        const run = runs.get(batch.partition)
        if (run === undefined || !run.taking) return
        for (const message of batch.messages) {
          const position = Number(message.offset)
          if (position < run.nextOffset) continue
          run.nextOffset = position + 1
          const key = message.key === null ? null : message.key.toString()
          Queue.unsafeOffer(run.queue, {
            position,
            // A record without a key is ordered with nothing.
            key: key ?? `\u0000${position}`,
            record: { topic: batch.topic, partition: batch.partition, offset: position, key },
            value: message.value
          })
          resolveOffset(message.offset)
        }
        if (!run.paused && run.queue.unsafeSize().pipe(Option.getOrElse(() => 0)) >= o.window) {
          run.paused = true
          consumer.pause(topicPartition(batch.partition))
        }
      }

      // Finalizers run in reverse: the runs drain before the client disconnects.
      yield* Effect.addFinalizer(() =>
        Effect.forEach([...runs.values()], drain, { concurrency: "unbounded", discard: true })
      )
      yield* call("subscribe", () => consumer.subscribe({ topics: [o.topic], fromBeginning: true }))
      yield* call("run", () => consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => Promise.resolve(takeBatch(payload))
      }))
      return yield* Deferred.await(crashed)
    })).pipe(Effect.annotateLogs({ consumer: o.consumer }))
  })

import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { Admin, Consumer as KafkaConsumer, Producer as KafkaProducer } from "kafkajs"
import type { Checkpoint as CheckpointState } from "../../Checkpoint.ts"
import * as Checkpoint from "../../internal/checkpoint.ts"
import * as Worker from "../../internal/partitionWorker.ts"
import * as T from "../../internal/transportOptions.ts"
import type { KafkaError } from "../errors.ts"
import type { Record } from "../index.ts"
import { skippedRecords } from "../metrics.ts"
import { call } from "./client.ts"
import { type Fenced, fenced, type Membership } from "./fence.ts"
import * as Offsets from "./offsets.ts"
import type { Resolved } from "./options.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * A partition run: one partition under one assignment, from its checkpoint
 * to a drain, a failure or an interruption. KafkaJS's fetches feed its
 * queue; the transport-neutral partition worker processes it; its completed
 * offsets are committed to Kafka (offsets.ts), through the fence (fence.ts).
 *
 * @internal
 */

/** What every room of one consumer shares. */
export interface Context<A, B, E1, R1, E2, R2> {
  readonly o: Resolved<A, B, E1, R1, E2, R2>
  readonly kafka: KafkaConsumer
  readonly admin: Admin
  readonly deadLetters: KafkaProducer
  /** The current run of each partition this consumer holds or drains. */
  readonly runs: Map<number, Run>
  readonly membership: Membership
  readonly runFork: <X, E>(effect: Effect.Effect<X, E, R1 | R2>) => runtime.RuntimeFiber<X, E>
}

/** A fetched record as the partition worker sees it. */
export interface Rec extends Worker.WorkerRecord {
  readonly position: number
  readonly record: Record
  readonly value: Buffer | null
}

/** @internal */
export interface Run extends Fenced {
  readonly partition: number
  readonly queue: Queue.Queue<Rec | null>
  /** False once the run stops taking records (it drains what it took). */
  taking: boolean
  paused: boolean
  /** The next offset to take: records fetched again below it are already in the run. */
  nextOffset: number
  fiber: runtime.RuntimeFiber<void> | undefined
  /** The completed offsets; `undefined` before the first record of a partition nothing was committed for. */
  checkpoint: CheckpointState | undefined
  /** Whether `checkpoint` was read (a restart reads it before the run starts, to seek to it). */
  loaded: boolean
  /** Completed offsets not committed to Kafka yet. */
  dirty: boolean
  /** The last commit request that carried this run's offsets, settled either way. */
  committing: Promise<void> | undefined
}

/** @internal */
export const makeRun = (partition: number, join: number, checkpoint?: Option.Option<CheckpointState>): Run => ({
  partition,
  join,
  stale: false,
  queue: Effect.runSync(Queue.unbounded()),
  taking: true,
  paused: false,
  nextOffset: 0,
  fiber: undefined,
  checkpoint: checkpoint === undefined ? undefined : Option.getOrUndefined(checkpoint),
  loaded: checkpoint !== undefined,
  dirty: false,
  committing: undefined
})

/** @internal */
export const topicPartition = (topic: string, partition: number) => [{ topic, partitions: [partition] }]

const queued = (run: Run): number => runtime.queueSize(run.queue)

/**
 * Pauses the partition's fetching while its queue holds a window; resumes it
 * below half. With `window: "auto"` that is the window's start, not
 * `maxWindow`: the queue only feeds the worker across a fetch round trip, so
 * what it needs follows `concurrency`; a grown window empties it and fetching
 * resumes at once. @internal
 */
export const flowControl = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): void => {
  if (!run.paused && queued(run) >= ctx.o.window) {
    run.paused = true
    ctx.kafka.pause(topicPartition(ctx.o.topic, run.partition))
  } else if (run.paused && run.taking && queued(run) < ctx.o.window / 2) {
    run.paused = false
    ctx.kafka.resume(topicPartition(ctx.o.topic, run.partition))
  }
}

/** The next records to process, less those the checkpoint marks done; ends at the drain marker. */
const take = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run) =>
  Effect.flatMap(Queue.takeBetween(run.queue, 1, 1024), (chunk) => {
    if (!run.taking) return Effect.succeed(undefined)
    flowControl(ctx, run)
    const records: Array<Rec> = []
    let skipped = 0
    for (const rec of chunk) {
      if (rec === null) return Effect.succeed(undefined)
      run.checkpoint ??= Checkpoint.make(rec.position)
      if (!Checkpoint.isCompleted(run.checkpoint, rec.position)) records.push(rec)
      else if (rec.position > run.checkpoint.committed) skipped++
    }
    return skipped === 0 ? Effect.succeed(records) : Effect.as(Metric.update(skippedRecords, skipped), records)
  })

const deadLetter = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, poisoned: Worker.Poisoned<Rec>) =>
  call("send dead letter", () =>
    ctx.deadLetters.send({
      topic: ctx.o.deadLetterTopic,
      messages: [{
        key: poisoned.record.record.key,
        value: poisoned.record.value,
        headers: {
          error: T.errorText(poisoned.error),
          attempts: String(poisoned.attempts),
          topic: ctx.o.topic,
          partition: String(poisoned.record.record.partition),
          offset: String(poisoned.record.position),
          consumer: ctx.o.consumer
        }
      }]
    })).pipe(Effect.asVoid)

/** The partition worker over the run's queue, until the drain marker or a failure. */
const processing = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run) =>
  Worker.run<Rec, A, B, E1, R1, E2 | KafkaError, R2, never, never>(
    runtime.fromArrays(Effect.suspend(() => run.taking ? take(ctx, run) : Effect.succeed(undefined))),
    {
      concurrency: ctx.o.concurrency,
      limit: ctx.o.limit,
      window: ctx.o.window,
      maxWindow: ctx.o.maxWindow,
      order: ctx.o.order,
      decode: (rec) =>
        rec.value === null ? Effect.fail(new Error("the record has no value")) : ctx.o.decodePayload(rec.value.toString()),
      process: (action, rec) => ctx.o.process(action, rec.record),
      retry: ctx.o.retry,
      timeout: ctx.o.timeout,
      poison: ctx.o.poison,
      commit: {
        _tag: "each",
        commit: (p) => fenced(ctx.membership, run, () => ctx.o.commit(p.result, p.action, p.record.record))
      },
      deadLetter: (poisoned) => fenced(ctx.membership, run, () => deadLetter(ctx, poisoned)),
      beforeCommit: Effect.void,
      acknowledge: (finished) =>
        Effect.sync(() => {
          for (const rec of finished) run.checkpoint = Checkpoint.complete(run.checkpoint!, rec.position)
          run.dirty = true
        })
    }
  )

/** Processes `run`'s records from the partition's checkpoint until the run drains (then commits) or fails. @internal */
export const work = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run) =>
  Effect.gen(function*() {
    if (!run.loaded) {
      run.checkpoint = yield* Offsets.load(ctx, run.partition)
      run.loaded = true
    }
    yield* Effect.logDebug(
      run.checkpoint === undefined
        ? "partition taken; no offset committed yet"
        : `partition taken from offset ${run.checkpoint.committed + 1}, ${run.checkpoint.above.length} done above it`
    )
    yield* processing(ctx, run)
    yield* Offsets.flush(ctx, run)
    yield* Effect.logDebug("partition drained and committed")
  })

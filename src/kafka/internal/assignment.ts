import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import type { ConsumerGroupJoinEvent, EachBatchPayload } from "kafkajs"
import type * as Checkpoint from "../../Checkpoint.ts"
import * as T from "../../internal/transportOptions.ts"
import * as Fence from "./fence.ts"
import * as Offsets from "./offsets.ts"
import { type Context, flowControl, makeRun, type Run, topicPartition, work } from "./partition.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * Which partitions this consumer runs: KafkaJS's group membership gives
 * them (`GROUP_JOIN`) and takes them back (`REBALANCING`); each given
 * partition gets a run (partition.ts), fed by KafkaJS's fetches with
 * pause/resume as back-pressure.
 *
 * @internal
 */

/**
 * Starts a run of `partition` under the current join, once `previous` (its
 * last run, draining or interrupted) has ended. A restart passes the
 * checkpoint it already read.
 */
const start = <A, B, E1, R1, E2, R2>(
  ctx: Context<A, B, E1, R1, E2, R2>,
  partition: number,
  previous: runtime.RuntimeFiber<void> | undefined,
  checkpoint?: Option.Option<Checkpoint.Checkpoint>
): Run => {
  const run = makeRun(partition, ctx.membership.join, checkpoint)
  ctx.runs.set(partition, run)
  ctx.kafka.resume(topicPartition(ctx.o.topic, partition))
  run.fiber = ctx.runFork(
    (previous === undefined ? Effect.void : Fiber.await(previous)).pipe(
      runtime.zipRight(work(ctx, run)),
      runtime.catchAllCause((cause) =>
        runtime.isInterruptedOnly(cause) ? Effect.void : Effect.logWarning(
          `partition ${partition} stopped; it starts again from its last commit`,
          cause
        ).pipe(runtime.zipRight(restartAfterFailure(ctx, run)))
      ),
      Effect.annotateLogs({ consumer: ctx.o.consumer, partition })
    )
  )
  return run
}

/** After a failure, the partition (if still this run's) starts over from its committed offset. */
const restartAfterFailure = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run) =>
  Effect.sleep("1 second").pipe(
    runtime.zipRight(Offsets.load(ctx, run.partition)),
    Effect.flatMap((checkpoint) =>
      Effect.sync(() => {
        if (ctx.runs.get(run.partition) !== run || run.stale) return
        run.taking = false
        start(ctx, run.partition, undefined, runtime.fromNullable(checkpoint))
        const offset = checkpoint === undefined ? "0" : String(checkpoint.committed + 1)
        ctx.kafka.seek({ topic: ctx.o.topic, partition: run.partition, offset })
      })
    )
  )

/** Stops taking records; what was taken is finished and committed within `drainTimeout`, then interrupted. @internal */
export const drain = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): Effect.Effect<void> => {
  if (run.taking) {
    run.taking = false
    run.paused = true
    ctx.kafka.pause(topicPartition(ctx.o.topic, run.partition))
    runtime.offerUnsafe(run.queue, null)
  }
  const fiber = run.fiber!
  // Interruptible: in a finalizer (shutdown) the timeout could not cut the wait otherwise.
  return Effect.interruptible(Fiber.await(fiber)).pipe(
    Effect.timeout(ctx.o.drainTimeout),
    runtime.catchAll(() => Fiber.interrupt(fiber)),
    Effect.asVoid
  )
}

const log = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, message: string) =>
  ctx.runFork(Effect.logDebug(message).pipe(Effect.annotateLogs({ consumer: ctx.o.consumer })))

/** A rebalance begins: every run stops taking records and drains, committing what it finished. @internal */
export const onRebalancing = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>) => (): void => {
  Fence.rebalancing(ctx.membership)
  // Before KafkaJS rejoins: the group still takes this generation's commits.
  Offsets.commitNow(ctx)
  log(ctx, `rebalancing: draining partitions ${[...ctx.runs.keys()].join(",")}`)
  for (const run of ctx.runs.values()) ctx.runFork(drain(ctx, run))
}

/**
 * A join: the fence moves to it. A partition kept by the same member keeps
 * its draining run current (its commits are its own) and starts again once
 * that run ends. Every other run is stale from now on and is interrupted:
 * its partition went to another member, or this member's session was lost
 * (the group refused a commit, or KafkaJS rejoined under a new member id
 * after a heartbeat found the member gone), so someone else may have
 * committed past it.
 *
 * @internal
 */
export const onJoin = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>) => ({ payload }: ConsumerGroupJoinEvent): void => {
  const membership = ctx.membership
  const sessionLost = membership.lost || (membership.memberId !== undefined && membership.memberId !== payload.memberId)
  const assigned = new Set(payload.memberAssignment[ctx.o.topic] ?? [])
  Fence.joined(membership, payload.memberId)
  const message = `assigned partitions ${[...assigned].join(",")}`
  ctx.runFork(
    (sessionLost
      ? Effect.logWarning(`rejoined after a lost session: its runs stop without writing; ${message}`)
      : Effect.logDebug(`joined: ${message}`)).pipe(Effect.annotateLogs({ consumer: ctx.o.consumer }))
  )
  const previous = new Map<number, runtime.RuntimeFiber<void>>()
  for (const [partition, run] of ctx.runs) {
    previous.set(partition, run.fiber!)
    if (sessionLost || run.stale || !assigned.has(partition)) {
      run.stale = true
      run.taking = false
      ctx.runs.delete(partition)
      ctx.runFork(Fiber.interrupt(run.fiber!))
    } else {
      run.join = membership.join
      ctx.runFork(drain(ctx, run))
    }
  }
  Fence.decided(membership)
  for (const partition of assigned) start(ctx, partition, previous.get(partition))
}

/** Takes a fetched batch into its partition's run; KafkaJS awaits nothing more of it. @internal */
export const takeBatch =
  <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>) => ({ batch, resolveOffset }: EachBatchPayload): void => {
    const run = ctx.runs.get(batch.partition)
    if (run === undefined || !run.taking) return
    let last: string | undefined
    for (const message of batch.messages) {
      const position = Number(message.offset)
      if (position < run.nextOffset) continue
      run.nextOffset = position + 1
      const key = message.key === null ? null : message.key.toString()
      runtime.offerUnsafe(run.queue, {
        position,
        key: T.recordKey(key, position),
        record: { topic: batch.topic, partition: batch.partition, offset: position, key },
        value: message.value
      })
      last = message.offset
    }
    // Where KafkaJS fetches next; once per batch (each call parses the offset into a Long).
    if (last !== undefined) resolveOffset(last)
    flowControl(ctx, run)
  }

import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type { Checkpoint as CheckpointState } from "../../Checkpoint.ts"
import * as Checkpoint from "../../internal/checkpoint.ts"
import type { KafkaError } from "../errors.ts"
import { call } from "./client.ts"
import { heard, isCurrent, isLostSession, isQuiet, lost } from "./fence.ts"
import type { Context, Run } from "./partition.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * A partition's offsets in Kafka: the checkpoint a run starts from (the
 * committed offset, and the completed offsets above it from the commit
 * metadata) and the commits of its progress, each through the fence.
 *
 * @internal
 */

/** Kafka keeps at most this much commit metadata per partition (`offset.metadata.max.bytes`, default 4096). */
const MAX_METADATA = 4096

/**
 * The checkpoint of `partition`: `undefined` when the group committed
 * nothing for it yet. Retried until read: a run cannot start without it.
 */
export const load = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, partition: number): Effect.Effect<CheckpointState | undefined> =>
  call("fetch offsets", () => ctx.admin.fetchOffsets({ groupId: ctx.o.group, topics: [ctx.o.topic] })).pipe(
    Effect.map((topics) => {
      const found = topics[0]?.partitions.find((p) => p.partition === partition)
      const offset = found === undefined ? -1 : Number(found.offset)
      if (offset < 0) return undefined
      const decoded = found?.metadata ? Checkpoint.decode(found.metadata) : undefined
      return decoded !== undefined && decoded._tag === "Success" && decoded.value.committed === offset - 1
        ? decoded.value
        : Checkpoint.make(offset)
    }),
    Effect.tapError((error) => Effect.logWarning(`partition ${partition}: reading the checkpoint failed; retrying`, error)),
    Effect.retry(Schedule.spaced("1 second")),
    Effect.orDie // never: retried until read
  )

/**
 * The group no longer counts this membership: every run is stale at once
 * (nothing more is written) and is interrupted (nothing more is processed).
 * The next join starts the partitions it gives from the group's commits.
 */
const lose = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, error: KafkaError) =>
  Effect.suspend(() => {
    lost(ctx.membership)
    for (const run of ctx.runs.values()) {
      run.stale = true
      run.taking = false
      if (run.fiber !== undefined) ctx.runFork(Fiber.interrupt(run.fiber))
    }
    return Effect.logWarning("the group refused a commit: this consumer's session is lost; its partitions stop", error)
  })

/** What a commit of `checkpoint` sends: the next offset to read, the completed offsets above it as metadata. */
const offsetOf = (topic: string, partition: number, checkpoint: CheckpointState) => {
  const encoded = Checkpoint.encode(checkpoint)
  // Too many completed offsets above a stuck one: commit the offset alone (they are redone after a restart).
  const metadata = encoded.length <= MAX_METADATA ? encoded : String(checkpoint.committed)
  return { topic, partition, offset: String(checkpoint.committed + 1), metadata }
}

/**
 * Sends, in one request and right away, the changed offsets of those of
 * `runs` that are current (a stale run's are never sent); `undefined` when
 * there is nothing to send. A failed request leaves them to the next. After
 * a silence (`isQuiet`) the unchanged ones go too: the group's answer says
 * whether this is still a member, and the writes held meanwhile wait for it.
 */
const send = <A, B, E1, R1, E2, R2>(
  ctx: Context<A, B, E1, R1, E2, R2>,
  runs: Iterable<Run>
): Promise<void> | undefined => {
  const membership = ctx.membership
  const quiet = isQuiet(membership)
  const sent: Array<Run> = []
  for (const run of runs) {
    if ((run.dirty || quiet) && run.progress !== undefined && isCurrent(membership, run)) sent.push(run)
  }
  if (sent.length === 0) return undefined
  const sentAt = membership.clock.millis()
  const request = ctx.kafka.commitOffsets(sent.map((run) => offsetOf(ctx.o.topic, run.partition, run.progress!.toCheckpoint()))).then(
    () => heard(membership, sentAt),
    (error: unknown) => {
      for (const run of sent) run.dirty = true
      throw error
    }
  )
  const settled = request.then(() => undefined, () => undefined)
  for (const run of sent) {
    run.dirty = false
    run.committing = settled
  }
  return request
}

/** `send` as an Effect: a refusal saying the session is lost stops every run. */
const commit = <A, B, E1, R1, E2, R2>(
  ctx: Context<A, B, E1, R1, E2, R2>,
  runs: Iterable<Run>
): Effect.Effect<void, KafkaError> =>
  Effect.suspend(() => {
    const sending = send(ctx, runs)
    return sending === undefined ? Effect.void : call("commit offsets", () => sending).pipe(
      runtime.catchAll((error) =>
        isLostSession(error, ctx.membership.rebalancing) ? lose(ctx, error) : Effect.fail(error)
      )
    )
  })

/**
 * The consumer's commit loop: the changed offsets of all its current runs
 * in one request (one request at a time), every `commitInterval` from one
 * request to the next — or as soon as the previous one is answered, when
 * that took longer: on a busy event loop the answer is read late, and
 * waiting a whole interval after it would leave more work uncommitted. A
 * failed commit is retried by the next.
 */
export const commitEvery = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>): Effect.Effect<never> =>
  Effect.suspend(() => commit(ctx, ctx.runs.values())).pipe(
    runtime.catchAll((error) => Effect.logDebug("commit of offsets failed; retrying", error)),
    (once) => Effect.zip(once, Effect.sleep(ctx.o.commitInterval), { concurrent: true }),
    Effect.forever
  )

/**
 * The last commit of a drained run, retried until it lands or the drain
 * times out. A run that turned stale ends instead, committing nothing.
 */
export const flush = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): Effect.Effect<void> =>
  Effect.suspend(() => isCurrent(ctx.membership, run) ? commit(ctx, [run]) : Effect.interrupt).pipe(
    // A request of the commit loop may carry this run's offsets: done once it is answered.
    runtime.zipRight(Effect.promise(() => run.committing ?? Promise.resolve())),
    runtime.zipRight(Effect.suspend(() => run.dirty ? Effect.fail("not committed yet" as const) : Effect.void)),
    Effect.tapError((error) => Effect.logDebug("commit of offsets failed; retrying", error)),
    Effect.retry(Schedule.spaced(ctx.o.commitInterval)),
    Effect.orDie
  )

/**
 * Sends the changed offsets of every current run now: called as KafkaJS
 * announces a rebalance, before its rejoin, so the request reaches the
 * coordinator while the group still takes this generation's commits.
 */
export const commitNow = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>): void => {
  send(ctx, ctx.runs.values())?.catch(() => undefined)
}

import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Checkpoint from "../../Checkpoint.ts"
import type { KafkaError } from "../errors.ts"
import { call } from "./client.ts"
import { isCurrent, isLostSession } from "./fence.ts"
import type { Context, Run } from "./partition.ts"

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
export const load = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, partition: number): Effect.Effect<Checkpoint.Checkpoint | undefined> =>
  call("fetch offsets", () => ctx.admin.fetchOffsets({ groupId: ctx.o.group, topics: [ctx.o.topic] })).pipe(
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
    ctx.membership.lost = true
    for (const run of ctx.runs.values()) {
      run.stale = true
      run.taking = false
      if (run.fiber !== undefined) ctx.runFork(Fiber.interrupt(run.fiber))
    }
    return Effect.logWarning("the group refused a commit: this consumer's session is lost; its partitions stop", error)
  })

/** What a commit of `checkpoint` sends: the next offset to read, the completed offsets above it as metadata. */
const offsetOf = (topic: string, partition: number, checkpoint: Checkpoint.Checkpoint) => {
  const encoded = Checkpoint.encode(checkpoint)
  // Too many completed offsets above a stuck one: commit the offset alone (they are redone after a restart).
  const metadata = encoded.length <= MAX_METADATA ? encoded : String(checkpoint.committed)
  return { topic, partition, offset: String(checkpoint.committed + 1), metadata }
}

/**
 * Commits `run`'s completed offsets if they changed. A stale run ends
 * instead (interrupted), and so does every run when the group's refusal
 * says the session is lost. Other failures leave the offsets to the next commit.
 */
export const commit = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): Effect.Effect<void, KafkaError> =>
  Effect.suspend(() => {
    if (!run.dirty || run.checkpoint === undefined) return Effect.void
    if (!isCurrent(ctx.membership, run)) return Effect.interrupt
    run.dirty = false
    const offsets = [offsetOf(ctx.o.topic, run.partition, run.checkpoint)]
    return call("commit offsets", () => ctx.kafka.commitOffsets(offsets)).pipe(
      // Failed or cut short (a drain ending the commit loop): the next commit sends it again.
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => (run.dirty = true))),
      Effect.catchAll((error) =>
        isLostSession(error, ctx.membership.rebalancing)
          ? Effect.zipRight(lose(ctx, error), Effect.interrupt)
          : Effect.fail(error)
      )
    )
  })

/** Commits every `commitInterval` while the run processes; a failed commit is retried by the next. */
export const commitEvery = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): Effect.Effect<never> =>
  commit(ctx, run).pipe(
    Effect.catchAll((error) => Effect.logDebug("commit of offsets failed; retrying", error)),
    Effect.delay(ctx.o.commitInterval),
    Effect.forever
  )

/** The last commit of a drained run, retried until it lands, the run turns stale, or the drain times out. */
export const flush = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>, run: Run): Effect.Effect<void> =>
  commit(ctx, run).pipe(
    Effect.tapError((error) => Effect.logDebug("commit of offsets failed; retrying", error)),
    Effect.retry(Schedule.spaced(ctx.o.commitInterval)),
    Effect.orDie
  )

/**
 * Sends the changed offsets of every current run in one request, now: called
 * as KafkaJS announces a rebalance, before its rejoin, so the request reaches
 * the coordinator while the group still takes this generation's commits.
 * What fails is left to the runs' own commits.
 */
export const commitNow = <A, B, E1, R1, E2, R2>(ctx: Context<A, B, E1, R1, E2, R2>): void => {
  const sent = [...ctx.runs.values()].filter((run) =>
    run.dirty && run.checkpoint !== undefined && isCurrent(ctx.membership, run)
  )
  if (sent.length === 0) return
  for (const run of sent) run.dirty = false
  ctx.kafka.commitOffsets(sent.map((run) => offsetOf(ctx.o.topic, run.partition, run.checkpoint!))).catch(() => {
    for (const run of sent) run.dirty = true
  })
}

import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { KafkaError } from "../errors.ts"
import type { ConsumeOptions } from "../index.ts"
import * as Assignment from "./assignment.ts"
import { call, client } from "./client.ts"
import { makeMembership } from "./fence.ts"
import * as Offsets from "./offsets.ts"
import { resolve } from "./options.ts"
import * as runtime from "../../internal/runtime.ts"
import type { Context, Run } from "./partition.ts"
import { PRODUCER_OPTIONS } from "./producer.ts"

/**
 * The Kafka consumer: KafkaJS's group membership decides which partitions
 * this consumer runs (assignment.ts); each gets a run (partition.ts) whose
 * offsets are read from and committed to Kafka (offsets.ts) through a fence
 * that keeps a run of an older join from writing (fence.ts).
 *
 * @internal
 */
export const consume = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Effect.Effect<never, KafkaError, R1 | R2> =>
  Effect.suspend(() => {
    const o = resolve(options)
    return Effect.scoped(Effect.gen(function*() {
      const kafka = client(o.consumer, o.brokers)
      const ctx: Context<A, B, E1, R1, E2, R2> = {
        o,
        kafka: kafka.consumer({
          groupId: o.group,
          sessionTimeout: o.sessionTimeout,
          heartbeatInterval: o.heartbeatInterval,
          rebalanceTimeout: o.rebalanceTimeout,
          maxWaitTimeInMs: o.maxWaitTime,
          retry: { retries: 8 }
        }),
        admin: kafka.admin(),
        deadLetters: kafka.producer(PRODUCER_OPTIONS),
        runs: new Map<number, Run>(),
        membership: makeMembership(yield* runtime.withFiber((fiber) => Effect.succeed(runtime.clockOf(fiber))), o.sessionTimeout),
        runFork: yield* runtime.runForkWithCurrent<R1 | R2>()
      }
      yield* Effect.acquireRelease(
        call("connect", () => Promise.all([ctx.kafka.connect(), ctx.admin.connect(), ctx.deadLetters.connect()])),
        () =>
          Effect.ignore(call("disconnect", () =>
            Promise.allSettled([ctx.kafka.disconnect(), ctx.admin.disconnect(), ctx.deadLetters.disconnect()])
          ))
      )
      const crashed = yield* Deferred.make<never, KafkaError>()
      ctx.kafka.on(ctx.kafka.events.REBALANCING, Assignment.onRebalancing(ctx))
      ctx.kafka.on(ctx.kafka.events.GROUP_JOIN, Assignment.onJoin(ctx))
      ctx.kafka.on(ctx.kafka.events.CRASH, ({ payload }) => {
        if (!payload.restart) runtime.completeDeferred(crashed, Exit.fail(new KafkaError({ operation: "consume", cause: payload.error })))
      })
      yield* Effect.forkScoped(Offsets.commitEvery(ctx))
      // Finalizers run in reverse: the runs drain before the client disconnects.
      yield* Effect.addFinalizer(() =>
        Effect.forEach([...ctx.runs.values()], (run) => Assignment.drain(ctx, run), { concurrency: "unbounded", discard: true })
      )
      yield* call("subscribe", () => ctx.kafka.subscribe({ topics: [o.topic], fromBeginning: true }))
      const takeBatch = Assignment.takeBatch(ctx)
      yield* call("run", () =>
        ctx.kafka.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: (payload) => Promise.resolve(takeBatch(payload))
        }))
      return yield* Deferred.await(crashed)
    })).pipe(Effect.annotateLogs({ consumer: o.consumer }))
  })

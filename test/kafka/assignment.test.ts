/**
 * The fence and the assignment rooms of the Kafka consumer against a fake
 * KafkaJS consumer: which runs may write after a rebalance, a lost session or
 * a join under a new member id, and which offsets are ever sent.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber } from "effect"
import type { ConsumerGroupJoinEvent } from "kafkajs"
import * as Checkpoint from "../../src/Checkpoint.ts"
import * as Assignment from "../../src/kafka/internal/assignment.ts"
import * as Fence from "../../src/kafka/internal/fence.ts"
import * as Offsets from "../../src/kafka/internal/offsets.ts"
import { resolve } from "../../src/kafka/internal/options.ts"
import type { Context, Run } from "../../src/kafka/internal/partition.ts"
import { Progress } from "../../src/kafka/internal/progress.ts"
import { waitFor } from "../redis/server.ts"
import { fork, isInterrupted, TestClock } from "../utils/line.ts"

const topic = "t"

/** A clock the test moves by hand: the membership reads how long the group has been silent from it. */
const makeClock = () => {
  const clock = {
    now: 0,
    millis: () => clock.now,
    nanos: () => BigInt(clock.now) * 1_000_000n,
    sleep: () => Effect.void
  }
  return clock
}

const SESSION_TIMEOUT = 30_000

const makeContext = () => {
  const commits: Array<Array<{ partition: number; offset: string }>> = []
  const clock = makeClock()
  const ctx = {
    o: resolve({
      brokers: ["127.0.0.1:9092"],
      topic,
      group: "g",
      concurrency: 2,
      process: () => Effect.void,
      commit: () => Effect.void
    }),
    kafka: {
      pause: () => undefined,
      resume: () => undefined,
      seek: () => undefined,
      commitOffsets: async (offsets: Array<{ partition: number; offset: string }>) => void commits.push(offsets)
    },
    // No offsets committed yet: every run starts at its first record.
    admin: { fetchOffsets: async () => [{ topic, partitions: [] }] },
    deadLetters: {},
    runs: new Map<number, Run>(),
    membership: Fence.makeMembership(clock, SESSION_TIMEOUT),
    runFork: (effect: Effect.Effect<unknown, unknown>) => Effect.runFork(effect)
  } as unknown as Context<unknown, unknown, never, never, never, never>
  const join = (memberId: string, partitions: ReadonlyArray<number>) =>
    Assignment.onJoin(ctx)({ payload: { memberId, memberAssignment: { [topic]: [...partitions] } } } as unknown as ConsumerGroupJoinEvent)
  /** Marks `run` as having finished offsets up to `offset` (what the worker's acknowledgements do). */
  const progress = (run: Run, offset: number) => {
    run.progress ??= Progress.startingAt(0)
    run.progress.complete(offset)
    run.dirty = true
  }
  return { ctx, commits, join, progress, clock }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

describe("Kafka consumer fence", () => {
  it("a rebalance holds writes until the join: the kept partition writes, the moved one never does", async () => {
    const { ctx, commits, join, progress } = makeContext()
    join("m1", [0, 1])
    const [kept, moved] = [ctx.runs.get(0)!, ctx.runs.get(1)!]
    progress(kept, 0)
    progress(moved, 0)
    Assignment.onRebalancing(ctx)()
    // The finished offsets of both went out at once, before KafkaJS rejoins.
    expect(commits.flat().map((c) => c.partition).sort()).toEqual([0, 1])
    const written: Array<number> = []
    const write = (run: Run) =>
      ctx.runFork(Fence.fenced(ctx.membership, run, () => Effect.sync(() => void written.push(run.partition))))
    const [keptWrite, movedWrite] = [write(kept), write(moved)]
    await settle()
    expect(written).toEqual([])
    join("m1", [0])
    expect(Exit.isSuccess(await Effect.runPromise(Fiber.await(keptWrite)))).toBe(true)
    expect(isInterrupted(await Effect.runPromise(Fiber.await(movedWrite)))).toBe(true)
    expect(written).toEqual([0])
    expect([kept.stale, kept.join, moved.stale]).toEqual([false, 2, true])
    expect(ctx.runs.has(1)).toBe(false)
  })

  it("a join under a new member id (the heartbeat found the member gone) makes every earlier run stale, kept partitions too", async () => {
    const { ctx, commits, join, progress } = makeContext()
    join("m1", [0, 1])
    const before = [ctx.runs.get(0)!, ctx.runs.get(1)!]
    join("m2", [0, 1])
    for (const run of before) {
      expect(run.stale).toBe(true)
      progress(run, 5)
    }
    expect(before.every((run) => ctx.runs.get(run.partition) !== run)).toBe(true)
    // Neither the commit loop nor a rebalance sends a stale run's offsets; a stale drain ends without committing.
    Offsets.commitNow(ctx)
    expect(commits).toEqual([])
    const flushed = await Effect.runPromise(Effect.exit(Offsets.flush(ctx, before[0])))
    expect(isInterrupted(flushed)).toBe(true)
    expect(commits).toEqual([])
    // The new runs are current.
    const current = ctx.runs.get(0)!
    progress(current, 0)
    Offsets.commitNow(ctx)
    expect(commits).toEqual([[{ topic, partition: 0, offset: "1", metadata: Checkpoint.encode(current.progress!.toCheckpoint()) }]])
  })

  it("after a silence past half the session (a stopped process resumed), writes wait for the group: an answer lets them go on, a refusal ends them unwritten", async () => {
    const { ctx, commits, join, progress, clock } = makeContext()
    join("m1", [0, 1])
    const [first, second] = [ctx.runs.get(0)!, ctx.runs.get(1)!]
    const written: Array<number> = []
    const write = (run: Run) =>
      ctx.runFork(Fence.fenced(ctx.membership, run, () => Effect.sync(() => void written.push(run.partition))))
    // Within half the session since the join: written at once.
    clock.now = SESSION_TIMEOUT / 2
    expect(Exit.isSuccess(await Effect.runPromise(Fiber.await(write(first))))).toBe(true)
    expect(written).toEqual([0])
    // Silent longer: held. An answer to a request sent before the silence (read after a stop) does not release it.
    clock.now = SESSION_TIMEOUT
    const held = write(first)
    await settle()
    Fence.heard(ctx.membership, 1)
    await settle()
    expect(written).toEqual([0])
    // The commit loop asks the group with the unchanged offsets; accepted, the write goes on.
    progress(first, 0)
    Offsets.commitNow(ctx)
    expect(Exit.isSuccess(await Effect.runPromise(Fiber.await(held)))).toBe(true)
    expect(written).toEqual([0, 0])
    first.dirty = false
    clock.now += SESSION_TIMEOUT
    Offsets.commitNow(ctx)
    expect(commits.length).toBe(2)
    // Silent again; the group refuses the next offset commit: the held write ends unwritten, as does the run.
    clock.now += SESSION_TIMEOUT
    const refused = write(second)
    await settle()
    const refusal = Object.assign(new Error("The coordinator is not aware of this member"), { type: "UNKNOWN_MEMBER_ID" })
    ;(ctx.kafka as unknown as { commitOffsets: () => Promise<never> }).commitOffsets = () => Promise.reject(refusal)
    progress(second, 0)
    await Effect.runPromise(Offsets.flush(ctx, second).pipe(Effect.exit))
    expect(ctx.membership.lost).toBe(true)
    expect(isInterrupted(await Effect.runPromise(Fiber.await(refused)))).toBe(true)
    expect(written).toEqual([0, 0])
    expect(commits.length).toBe(2)
  })

  it.effect("the commit loop sends every commitInterval from one request to the next, and at once after an answer that came later", () =>
    Effect.gen(function*() {
      const { ctx, join, progress } = makeContext()
      let sent = 0
      let answer = () => {}
      ;(ctx.kafka as unknown as { commitOffsets: () => Promise<void> }).commitOffsets = () => {
        sent++
        return new Promise<void>((resolve) => answer = resolve)
      }
      // The moments when the loop's fiber has run (the fake's promises resolve on microtasks).
      const turn = Effect.promise(() => settle())
      join("m1", [0])
      yield* turn
      const run = ctx.runs.get(0)!
      progress(run, 0)
      const loop = yield* fork(Offsets.commitEvery(ctx))
      yield* turn
      expect(sent).toBe(1)
      const interval = Duration.toMillis(ctx.o.commitInterval)
      answer()
      progress(run, 1)
      yield* TestClock.adjust(interval - 1)
      yield* turn
      expect(sent).toBe(1)
      yield* TestClock.adjust(1)
      yield* turn
      expect(sent).toBe(2)
      // Unanswered: one request at a time, however long.
      progress(run, 2)
      yield* TestClock.adjust(3 * interval)
      yield* turn
      expect(sent).toBe(2)
      // Answered three intervals after it was sent: the next goes at once, not a whole interval later.
      answer()
      yield* turn
      expect(sent).toBe(3)
      yield* Fiber.interrupt(loop)
    }))

  it("a commit refused as a lost session stops every run; the next join starts fresh runs instead of draining them", async () => {
    const { ctx, join, progress } = makeContext()
    join("m1", [0, 1])
    const before = [ctx.runs.get(0)!, ctx.runs.get(1)!]
    await settle()
    const refusal = Object.assign(new Error("The coordinator is not aware of this member"), { type: "UNKNOWN_MEMBER_ID" })
    ;(ctx.kafka as unknown as { commitOffsets: () => Promise<never> }).commitOffsets = () => Promise.reject(refusal)
    progress(before[0], 0)
    const loop = ctx.runFork(Offsets.commitEvery(ctx))
    await waitFor("the commit loop's refused commit", async () => ctx.membership.lost, 5000)
    for (const run of before) {
      expect(run.stale).toBe(true)
      expect(isInterrupted(await Effect.runPromise(Fiber.await(run.fiber!)))).toBe(true)
    }
    // Same member id: the group's refusal alone says the session was lost.
    join("m1", [0, 1])
    expect(ctx.membership.lost).toBe(false)
    expect(before.every((run) => ctx.runs.get(run.partition) !== run && run.join === 1)).toBe(true)
    await Effect.runPromise(Fiber.interrupt(loop))
  })
})

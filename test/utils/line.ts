/**
 * The one test module that knows there are two Effect lines (effect 3 and effect 4, see docs and
 * /work/shared/EFFECT4.md): every binding whose name or shape differs is picked here once, at load, from the
 * `effect` barrel the project resolves (vitest.config.ts sends `effect` to effect 4 in the `effect4` project).
 * Types are written against effect 3, the line `tsc` checks.
 */
import { it } from "@effect/vitest"
import * as Barrel from "effect"
import { Cause, type Clock, Duration, Effect, Exit, type Layer, Metric, Option, Scope, Stream } from "effect"
import type * as Supervisor from "effect/Supervisor"
import type * as Fiber from "effect/Fiber"
import * as runtime from "../../src/internal/runtime.ts"

/**
 * fast-check itself: effect 3's `effect/FastCheck` is `export * from "fast-check"` (the same copy, a dependency of
 * effect 3), effect 4 has its own `Arbitrary` module instead; both lines take the package.
 */
export * as fc from "fast-check"

import * as TestClockModule from "effect/TestClock"

// deno-lint-ignore no-explicit-any
const barrel = Barrel as any
// deno-lint-ignore no-explicit-any
const effect = Effect as any
// deno-lint-ignore no-explicit-any
const cause = Cause as any

/** The line `effect` resolved to here: 4 has `Effect.forkChild`, 3 has `Effect.fork`. */
export const line: 3 | 4 = typeof effect.forkChild === "function" ? 4 : 3

/**
 * A test whose effect gets a Scope: `it.scoped` (3) / `it.effect` (4, which scopes every test; on 4 `it.scoped`
 * falls through to vitest 5's deprecated `test.scoped` and registers nothing).
 */
export const itScoped: typeof it.scoped = line === 4 ? it.effect as typeof it.scoped : it.scoped

/** `Effect.fork` (3) / `Effect.forkChild` (4): a child of the current fiber. */
export const fork: typeof Effect.fork = effect.forkChild ?? effect.fork

/** `Effect.forkDaemon` (3) / `Effect.forkDetach` (4): a fiber with no parent. */
export const forkDaemon: typeof Effect.forkDaemon = effect.forkDetach ?? effect.forkDaemon

/** One yield to the scheduler: `Effect.yieldNow()` (3) is a value `Effect.yieldNow` on 4. */
export const yieldNow: Effect.Effect<void> = typeof effect.yieldNow === "function"
  ? effect.yieldNow()
  : effect.yieldNow

/** `Effect.async` (3) / `Effect.callback` (4): resume once, with an optional cleanup on interruption. */
export const callback: typeof Effect.async = effect.callback ?? effect.async


/** The typed error of a failure, if the cause has one: `failureOption` (3) / `findErrorOption` (4). */
export const failureOf: <E>(self: Cause.Cause<E>) => Option.Option<E> = cause.findErrorOption ?? cause.failureOption

/** Every typed error of a cause in order: `Cause.failures` (3) / the `Fail` reasons (4). */
export const failuresOf = <E>(self: Cause.Cause<E>): ReadonlyArray<E> =>
  line === 4
    // deno-lint-ignore no-explicit-any
    ? (self as any).reasons.filter((reason: any) => reason._tag === "Fail").map((reason: any) => reason.error)
    : [...Cause.failures(self)]

/** The first defect of a cause, if any: `dieOption` (3) / `findDefect` (4, a Result). */
export const defectOf = (self: Cause.Cause<unknown>): Option.Option<unknown> => {
  if (line === 3) return Cause.dieOption(self)
  const found = cause.findDefect(self)
  return found._tag === "Success" ? Option.some(found.success) : Option.none()
}

/** Whether a cause holds only interruptions: `isInterruptedOnly` (3) / `hasInterruptsOnly` (4). */
export const isInterruptedOnly: (self: Cause.Cause<unknown>) => boolean = cause.hasInterruptsOnly ??
  cause.isInterruptedOnly

/** Whether an exit failed by interruption: `Exit.isInterrupted` (3) / `Exit.hasInterrupts` (4). */
// deno-lint-ignore no-explicit-any
export const isInterrupted: (self: Exit.Exit<unknown, unknown>) => boolean = (Exit as any).hasInterrupts ??
  Exit.isInterrupted

/** The defect the library raises for bad input: `IllegalArgumentException` (3) / `IllegalArgumentError` (4). */
export const IllegalArgumentError: typeof Cause.IllegalArgumentException = cause.IllegalArgumentError ??
  cause.IllegalArgumentException

/** Whether a value is that defect: `isIllegalArgumentException` (3) / `isIllegalArgumentError` (4). */
export const isIllegalArgumentError: (u: unknown) => u is Cause.IllegalArgumentException =
  cause.isIllegalArgumentError ?? cause.isIllegalArgumentException

/** The defect `Effect.timeout` raises: `TimeoutException` (3) / `TimeoutError` (4). */
export const isTimeoutError: (u: unknown) => boolean = cause.isTimeoutError ?? cause.isTimeoutException

/**
 * `Effect.either` (3) / `Effect.result` (4), read back as `{ ok, value }` / `{ ok: false, error }` so that a test
 * states what it expects once for both shapes (`Right`/`Left` against `Success`/`Failure`).
 */
export const outcome = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.map((effect.result ?? effect.either)(self) as Effect.Effect<unknown, never, R>, toOutcome)

type Outcome<A, E> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: E }

// deno-lint-ignore no-explicit-any
const toOutcome = (r: any): Outcome<any, any> =>
  r._tag === "Right" || r._tag === "Success"
    ? { ok: true, value: r._tag === "Right" ? r.right : r.success }
    : { ok: false, error: r._tag === "Left" ? r.left : r.failure }

/** `Stream.either` (3) / `Stream.result` (4), each element read back as in {@link outcome}. */
export const streamOutcome = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<Outcome<A, E>, never, R> =>
  // deno-lint-ignore no-explicit-any
  Stream.map(((Stream as any).result ?? Stream.either)(self) as Stream.Stream<unknown, never, R>, toOutcome)

/** A metric with attributes: `Metric.tagged` (3) / `Metric.withAttributes` (4). */
export const tagged = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  key: string,
  value: string
): Metric.Metric<Type, In, Out> =>
  // deno-lint-ignore no-explicit-any
  line === 4 ? (Metric as any).withAttributes(metric, { [key]: value }) : Metric.tagged(metric, key, value)

/** One entry of `Metric.snapshot`, the same on both lines: name, attributes and state. */
export interface MetricEntry {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  // deno-lint-ignore no-explicit-any
  readonly state: any
}

/** `Metric.snapshot`: `{ metricKey, metricState }` pairs (3) / `{ id, attributes, state }` (4). */
export const metricSnapshot: Effect.Effect<ReadonlyArray<MetricEntry>> = Effect.map(
  // deno-lint-ignore no-explicit-any
  Metric.snapshot as Effect.Effect<ReadonlyArray<any>>,
  (entries) =>
    entries.map((entry) =>
      line === 4
        ? { name: entry.id, attributes: { ...entry.attributes }, state: entry.state }
        : {
          name: entry.metricKey.name,
          attributes: Object.fromEntries(
            // deno-lint-ignore no-explicit-any
            entry.metricKey.tags.map((label: any) => [label.key, label.value])
          ),
          state: entry.metricState
        }
    )
)

/**
 * Counts the fibers an effect forks: a `Supervisor` (3) or the
 * `Metric.FiberRuntimeMetrics` hook (4, which has no Supervisor). `running()` is how many have not ended.
 */
export interface FiberCount {
  readonly started: () => number
  readonly running: () => number
  /** The fibers themselves, on effect 3 only: effect 4's hook sees a fiber's context, not the fiber. */
  readonly fibers: (() => ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>>) | undefined
}

/** Runs `effect` with its fibers counted (see {@link FiberCount}). */
export const countingFibers = <A, E, R>(
  self: Effect.Effect<A, E, R>
): readonly [Effect.Effect<A, E, R>, FiberCount] => {
  if (line === 4) {
    let started = 0
    let ended = 0
    const recorder = { recordFiberStart: () => void started++, recordFiberEnd: () => void ended++ }
    return [
      // deno-lint-ignore no-explicit-any
      effect.provideService(self, (Metric as any).FiberRuntimeMetrics, recorder),
      { started: () => started, running: () => started - ended, fibers: undefined }
    ]
  }
  const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
  const Supervisors: typeof Supervisor = barrel.Supervisor
  const supervisor = new (class extends Supervisors.AbstractSupervisor<void> {
    readonly value = Effect.void
    override onStart(_c: unknown, _e: unknown, _p: unknown, fiber: Fiber.RuntimeFiber<unknown, unknown>) {
      fibers.push(fiber)
    }
  })()
  return [
    Effect.supervised(self, supervisor),
    {
      started: () => fibers.length,
      running: () => fibers.filter((fiber) => fiber.unsafePoll() === null).length,
      fibers: () => fibers
    }
  ]
}

/** A fiber's exit if it has ended, else `null`: `unsafePoll()` (3) / `pollUnsafe()` (4, `undefined` while running). */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>): Exit.Exit<A, E> | null =>
  // deno-lint-ignore no-explicit-any
  line === 4 ? (fiber as any).pollUnsafe() ?? null : (fiber as Fiber.RuntimeFiber<A, E>).unsafePoll()

/** Runs an effect that needs a Scope in the given one: `Scope.extend` (3) / `Scope.provide` (4). */
export const inScope: {
  <A, E, R>(effect: Effect.Effect<A, E, R>, scope: Scope.Scope): Effect.Effect<A, E, Exclude<R, Scope.Scope>>
  // deno-lint-ignore no-explicit-any
} = (Scope as any).provide ?? Scope.extend

/** A Clock reading `millis()` whose sleeps are `sleep`, in the line's shape (the library's own builder). */
export const makeClock = (millis: () => number, sleep: Clock.Clock["sleep"]): Clock.Clock =>
  runtime.makeClock(millis, sleep) as Clock.Clock

/** The running fiber's Clock, read synchronously (`millis()`, `sleep`): to build a clock on top of the TestClock. */
export const currentClock: Effect.Effect<runtime.ClockReader> = runtime.withFiber((fiber) =>
  Effect.succeed(runtime.clockOf(fiber))
)

/** Runs `self` with `clock`: `Effect.withClock` (3) / the `Clock` service (4), as the library does. */
export const withClock: <A, E, R>(self: Effect.Effect<A, E, R>, clock: Clock.Clock) => Effect.Effect<A, E, R> =
  runtime.withClock

/** The test services `it.effect` provides, for a run of its own: `TestContext.TestContext` (3) / `TestClock.layer()` (4). */
export const testServices: Layer.Layer<never> =
  // deno-lint-ignore no-explicit-any
  line === 4 ? (TestClockModule as any).layer() : barrel.TestContext.TestContext

/** Recovers from any typed error: `Effect.catchAll` (3) / `Effect.catch` (4; on 3 `catch` is tag-based). */
export const catchAll: typeof Effect.catchAll = effect.catchAll ?? effect.catch

/** Recovers from a defect: `Effect.catchAllDefect` (3) / `Effect.catchDefect` (4). */
export const catchAllDefect: typeof Effect.catchAllDefect = effect.catchAllDefect ?? effect.catchDefect

/** A log level by its effect-3 name (effect 4 calls `"Warning"` `"Warn"`). */
export type LogLevelName = "None" | "Error" | "Warning" | "Info" | "Debug"

/**
 * Runs `self` logging from `minimum` up, through `logger` (if given) beside the default logger or, with `replace`,
 * instead of it: `Logger.add`/`Logger.replace` and `Logger.withMinimumLogLevel` (3) / `Logger.layer` and
 * `References.MinimumLogLevel` (4).
 */
export const withLogging = (options: {
  readonly minimum: LogLevelName
  readonly logger?: Barrel.Logger.Logger<unknown, void> | undefined
  readonly replace?: boolean | undefined
}) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const { logger, minimum, replace = false } = options
  if (line === 4) {
    const level = minimum === "Warning" ? "Warn" : minimum
    const leveled: Effect.Effect<A, E, R> = effect.provideService(self, barrel.References.MinimumLogLevel, level)
    return logger === undefined
      ? leveled
      : Effect.provide(leveled, barrel.Logger.layer([logger], { mergeWithExisting: !replace }) as Layer.Layer<never>)
  }
  const leveled = Barrel.Logger.withMinimumLogLevel(self, Barrel.LogLevel.fromLiteral(minimum))
  if (logger === undefined) return leveled
  return Effect.provide(leveled, replace ? Barrel.Logger.replace(Barrel.Logger.defaultLogger, logger) : Barrel.Logger.add(logger))
}

/** `Effect.makeSemaphore` (3) / `Semaphore.make` (4), made synchronously. */
export const makeSemaphore = (permits: number): Effect.Semaphore =>
  line === 4 ? barrel.Semaphore.makeUnsafe(permits) : Effect.unsafeMakeSemaphore(permits)

/** The console logger in logfmt (`timestamp=… level=WARN … message=…`): the default one (3) / `Logger.consoleLogFmt` (4). */
export const consoleLogFmt: Barrel.Logger.Logger<unknown, void> = barrel.Logger.consoleLogFmt ?? Barrel.Logger.defaultLogger

/**
 * Lets the fibers forked so far run until they wait, before a `TestClock.adjust`: effect 3's `adjust` waits until
 * every fiber is suspended, effect 4's yields once only, so that a run whose workers start a few forks deep (the
 * engine forks its first worker, which forks the others) would see the clock move before they start.
 */
export const settle: Effect.Effect<void> = Effect.asVoid(Effect.replicateEffect(yieldNow, 64))

/**
 * Moves the TestClock up to `duration`, until `fiber` is done, with every fiber run until it waits at each moment:
 * one `adjust` on effect 3 (it waits until every fiber is suspended); on effect 4, whose `adjust` does not wait for
 * fibers forked while it moves the clock, a millisecond at a time with `settle` between (a run that forks workers
 * and copies as it goes would start them late).
 */
export const adjustUntilDone = (fiber: Fiber.Fiber<unknown, unknown>, duration: runtime.DurationInput): Effect.Effect<void> => {
  if (line === 3) return TestClockModule.adjust(duration)
  const end = Duration.toMillis(runtime.decodeDuration(duration))
  let moved = 0
  return Effect.andThen(
    settle,
    Effect.whileLoop({
      while: () => moved < end && poll(fiber) === null,
      body: () => Effect.andThen(TestClockModule.adjust(1), settle),
      step: () => {
        moved++
      }
    })
  )
}

/**
 * `effect/TestClock` (3) / `effect/testing`'s `TestClock` (4; vitest.config.ts aliases the path per project). On
 * effect 4 `adjust` first lets the fibers forked so far run until they wait (`settle`), as effect 3's does.
 */
export const TestClock: typeof TestClockModule = line === 3 ? TestClockModule : {
  ...TestClockModule,
  adjust: (duration: runtime.DurationInput) => Effect.andThen(settle, TestClockModule.adjust(duration))
} as typeof TestClockModule

/**
 * Has the TestClock fork, now, the fiber it forks at a test's first sleep (effect 4: a warning for a test that
 * sleeps without moving the clock; interrupted at the next `adjust`), so that a count of the fibers a run forks
 * (`countingFibers`) that follows sees the run's alone. Effect 3's count does not see that fiber; one sleep and
 * one `adjust` of a millisecond on both lines.
 */
export const forkTestClockWarning: Effect.Effect<void> = Effect.flatMap(
  fork(Effect.sleep(Duration.millis(1))),
  (sleeper) => Effect.andThen(TestClock.adjust(Duration.millis(1)), Barrel.Fiber.join(sleeper))
)

/**
 * Runs `self` so that `quiet()` tells whether nothing of it can happen without outside help right now: every
 * fiber it forked (and `root`, the fiber that runs it) waits (on a Deferred, the clock, …) or is done. Effect 3:
 * the fibers' statuses, seen through a Supervisor (`countingFibers`). Effect 4, which has neither: no fiber of the
 * run has a task scheduled, and none ran since the last look (every fiber the run forks, resumes or yields runs
 * from a task of the run's Scheduler, which this wraps; one woken at once runs inside a fiber that did).
 */
export const observingQuiet = <A, E, R>(
  self: Effect.Effect<A, E, R>
): readonly [Effect.Effect<A, E, R>, (root: Fiber.Fiber<unknown, unknown>) => Effect.Effect<boolean>] => {
  if (line === 3) {
    const [counted, count] = countingFibers(self)
    const quiet = (root: Fiber.Fiber<unknown, unknown>) =>
      Effect.map(
        Effect.forEach([root as Fiber.RuntimeFiber<unknown, unknown>, ...count.fibers!()], (fiber) => fiber.status),
        (statuses) => statuses.every((status) => status._tag !== "Running")
      )
    return [counted, quiet]
  }
  let started = false
  let scheduled = 0
  let ran = 0
  let ranAtLastLook = -1
  const observed = runtime.withFiber((fiber) => {
    started = true
    // deno-lint-ignore no-explicit-any
    const parent: any = (fiber as any).getRef(barrel.Scheduler.Scheduler)
    const scheduler = {
      executionMode: parent.executionMode,
      // deno-lint-ignore no-explicit-any
      shouldYield: (f: any) => parent.shouldYield(f),
      makeDispatcher: () => {
        const dispatcher = parent.makeDispatcher()
        return {
          scheduleTask: (task: () => void, priority: number) => {
            scheduled++
            dispatcher.scheduleTask(() => {
              scheduled--
              ran++
              task()
            }, priority)
          },
          flush: () => dispatcher.flush()
        }
      }
    }
    return effect.provideService(self, barrel.Scheduler.Scheduler, scheduler)
  }) as Effect.Effect<A, E, R>
  const quiet = () =>
    Effect.sync(() => {
      const still = started && scheduled === 0 && ran === ranAtLastLook
      ranAtLastLook = ran
      return still
    })
  return [observed, quiet]
}

/** Counts what a stream hands over, chunk by chunk: `Stream.mapChunks` (3) / `Stream.mapArray` (4). */
export const countChunks = (count: (size: number) => void) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  // deno-lint-ignore no-explicit-any
  ((Stream as any).mapChunks ?? (Stream as any).mapArray)(self, (chunk: { readonly length: number }) => {
    count(chunk.length)
    return chunk
  })

/** Runs `self` with fibers that yield after `ops` operations: `Effect.withMaxOpsBeforeYield` (3) / `Scheduler.MaxOpsBeforeYield` (4). */
export const withMaxOpsBeforeYield = (ops: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  line === 3 ? effect.withMaxOpsBeforeYield(self, ops) : effect.provideService(self, barrel.Scheduler.MaxOpsBeforeYield, ops)

/** Runs `f` on each chunk a stream hands over: `Stream.runForEachChunk` (3) / `Stream.runForEachArray` (4). */
export const runForEachChunk: typeof Stream.runForEachChunk =
  // deno-lint-ignore no-explicit-any
  (Stream as any).runForEachChunk ?? (Stream as any).runForEachArray

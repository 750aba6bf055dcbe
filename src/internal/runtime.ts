// deno-lint-ignore-file no-explicit-any -- the names one line lacks are read untyped, and typed once here
/**
 * The one module that knows there are two Effect lines (issue #19): effect 3
 * (`^3.22`) and effect 4 (`^4.0`). Every other source file imports only
 * modules both lines have and reaches what one line renames, moves or drops
 * through the names here. Each binding is picked once, at load, from the
 * application's own `effect` (no top-level `await`, no `createRequire`, so
 * `require` and bundlers keep working); where the engine calls one per
 * action it is the line's own function, not a wrapper. Values only one line
 * has are read through the `effect` barrel, whose other line lacks them.
 *
 * @internal
 */
import * as Barrel from "effect"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MutableHashMap from "effect/MutableHashMap"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { HistogramState } from "./histogram.ts"

/**
 * A module as a plain record: a name one line lacks reads as `undefined`.
 * Always `(Module as Module).name`, never the module as a value, so that
 * bundlers still see each name used and drop the rest.
 */
type Module = Record<string, any>

/** Which Effect line the application's `effect` is. @internal */
export const line: 3 | 4 = typeof (Effect as Module).zipRight === "function" ? 3 : 4
const v3 = line === 3

// ---------------------------------------------------------------------------
// Version check
// ---------------------------------------------------------------------------

/**
 * Why effect-ordered cannot run on `effect` at `version`, or `undefined` when
 * it can: it needs `^3.22.0` or `^4.0.0`.
 *
 * @internal
 */
export const unsupportedVersion = (version: string | undefined): string | undefined => {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? "")
  const found = version === undefined ? "an unknown version" : `effect ${version}`
  const expected = "effect-ordered needs effect ^3.22.0 or ^4.0.0"
  if (match === null) return `${expected}; found ${found}`
  const major = Number(match[1])
  const minor = Number(match[2])
  if ((major === 3 && minor >= 22) || major === 4) return undefined
  return `${expected}; found ${found}`
}

/** The version of the `effect` this module loaded: effect 3 stamps it on every Effect, effect 4 has `Version`. */
const loadedVersion = (): string | undefined =>
  v3
    ? (Effect.void as unknown as Module)[(Effect as Module).EffectTypeId]?._V
    : (Barrel as Module).Version?.getCurrentVersion?.()

{
  const problem = unsupportedVersion(loadedVersion())
  if (problem !== undefined) throw new Error(problem)
}

// ---------------------------------------------------------------------------
// Types both lines share, named once
// ---------------------------------------------------------------------------

/** A running fiber, as the engine holds its workers (effect 3: `RuntimeFiber`). @internal */
export type RuntimeFiber<A, E = never> = Fiber.Fiber<A, E> & {
  readonly addObserver: (observer: (exit: Exit.Exit<A, E>) => void) => unknown
}

/** Who interrupts: a `FiberId` on effect 3, a fiber id number on effect 4. @internal */
export type InterruptorId = Parameters<typeof Exit.interrupt>[0]

/**
 * What a `Duration` option accepts: effect 3's `Duration.DurationInput`,
 * effect 4's `Duration.Input`, read off the line's own decoder.
 *
 * @since 0.1.0
 * @category models
 */
export type DurationInput = typeof Duration extends { readonly fromInputUnsafe: (input: infer I) => any } ? I
  : typeof Duration extends { readonly decode: (input: infer I) => any } ? I
  : never

/** The error `Effect.timeout` fails with: `TimeoutException` (3), `TimeoutError` (4). @since 0.1.0 @category models */
export type TimeoutException = typeof Cause extends { readonly TimeoutException: new(...args: any) => infer T } ? T
  : typeof Cause extends { readonly TimeoutError: new(...args: any) => infer T } ? T
  : never

/** The error `Effect.timeout(self, duration)` fails with past `duration`, made for an attempt bounded another way. @internal */
export const timeoutError = (duration: Duration.Duration): TimeoutException =>
  new ((Cause as Module).TimeoutException ?? (Cause as Module).TimeoutError)(
    `Operation timed out after '${Duration.format(duration)}'`
  )

/** The defect bad arguments die with: `IllegalArgumentException` (3), `IllegalArgumentError` (4). @internal */
export type IllegalArgumentException = typeof Cause extends
  { readonly IllegalArgumentException: new(...args: any) => infer T } ? T
  : typeof Cause extends { readonly IllegalArgumentError: new(...args: any) => infer T } ? T
  : never

/** @internal */
export const IllegalArgumentException: new(message?: string) => IllegalArgumentException = (Cause as Module).IllegalArgumentException ??
  (Cause as Module).IllegalArgumentError

// ---------------------------------------------------------------------------
// Effect: renamed combinators
// ---------------------------------------------------------------------------

/** `that` after `self`, keeping `that`'s value (effect 4: `andThen`). @internal */
export const zipRight: {
  <A2, E2, R2>(that: Effect.Effect<A2, E2, R2>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A2, E | E2, R | R2>
  <A, E, R, A2, E2, R2>(self: Effect.Effect<A, E, R>, that: Effect.Effect<A2, E2, R2>): Effect.Effect<A2, E | E2, R | R2>
} = (Effect as Module).zipRight ?? (Effect as Module).andThen

/** Suspends until `register`'s callback is called (effect 4: `Effect.callback`). @internal */
export const async: <A, E = never, R = never>(
  register: (resume: (effect: Effect.Effect<A, E, R>) => void) => void | Effect.Effect<void, never, R>
) => Effect.Effect<A, E, R> = (Effect as Module).async ?? (Effect as Module).callback

/** Recovers from every typed failure (effect 4: `Effect.catch`; effect 3's `catch` is by tag). @internal */
export const catchAll: {
  <E, A2, E2, R2>(f: (e: E) => Effect.Effect<A2, E2, R2>): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E2, R | R2>
  <A, E, R, A2, E2, R2>(self: Effect.Effect<A, E, R>, f: (e: E) => Effect.Effect<A2, E2, R2>): Effect.Effect<A | A2, E2, R | R2>
} = v3 ? (Effect as Module).catchAll : (Effect as Module).catch

/** Recovers from every cause (effect 4: `Effect.catchCause`). @internal */
export const catchAllCause: {
  <E, A2, E2, R2>(f: (cause: Cause.Cause<E>) => Effect.Effect<A2, E2, R2>): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E2, R | R2>
  <A, E, R, A2, E2, R2>(self: Effect.Effect<A, E, R>, f: (cause: Cause.Cause<E>) => Effect.Effect<A2, E2, R2>): Effect.Effect<A | A2, E2, R | R2>
} = (Effect as Module).catchAllCause ?? (Effect as Module).catchCause

/** Both causes, the first first (effect 4: `Cause.combine`). @internal */
export const sequential: <E, E2>(left: Cause.Cause<E>, right: Cause.Cause<E2>) => Cause.Cause<E | E2> = (Cause as Module).sequential ??
  (Cause as Module).combine

/** The first typed failure of a cause, if any (effect 4: `Cause.findErrorOption`). @internal */
export const failureOption: <E>(cause: Cause.Cause<E>) => Option.Option<E> = (Cause as Module).failureOption ?? (Cause as Module).findErrorOption

/** Whether a cause is only interruptions (effect 4: `Cause.hasInterruptsOnly`). @internal */
export const isInterruptedOnly: <E>(cause: Cause.Cause<E>) => boolean = (Cause as Module).isInterruptedOnly ?? (Cause as Module).hasInterruptsOnly

/** `Option.fromNullable` (effect 4: `fromNullishOr`). @internal */
export const fromNullable: <A>(a: A) => Option.Option<NonNullable<A>> = (Option as Module).fromNullable ??
  (Option as Module).fromNullishOr

/** A `Duration` from what a `Duration` option accepts; throws on a bad input (effect 4: `fromInputUnsafe`). @internal */
export const decodeDuration: (input: DurationInput) => Duration.Duration = (Duration as Module).decode ??
  (Duration as Module).fromInputUnsafe

/** A `Duration` from what a `Duration` option accepts, if it is one. @internal */
export const decodeDurationOption: (input: unknown) => Option.Option<Duration.Duration> = v3
  ? (Duration as Module).decodeUnknown
  : (input) => isStrayObject(input) ? Option.none() : (Duration as Module).fromInput(input)

/** Effect 4's `{ seconds: 1 }`-style input: an object of these keys only, at least one. */
const DURATION_OBJECT_KEYS = new Set(["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"])

/** An object that is neither a `Duration`, a `[seconds, nanos]` pair nor a duration object (effect 4 reads it as zero). */
const isStrayObject = (input: unknown): boolean => {
  if (typeof input !== "object" || input === null || Array.isArray(input) || Duration.isDuration(input)) return false
  const keys = Object.keys(input)
  return keys.length === 0 || keys.some((key) => !DURATION_OBJECT_KEYS.has(key))
}

/** `Duration.lessThan` (effect 4: `isLessThan`). @internal */
export const durationLessThan: (self: Duration.Duration, that: Duration.Duration) => boolean =
  (Duration as Module).lessThan ?? (Duration as Module).isLessThan

/** `Duration.greaterThan` (effect 4: `isGreaterThan`). @internal */
export const durationGreaterThan: (self: Duration.Duration, that: Duration.Duration) => boolean =
  (Duration as Module).greaterThan ?? (Duration as Module).isGreaterThan

// ---------------------------------------------------------------------------
// Fibers
// ---------------------------------------------------------------------------

/** Runs `f` with the fiber that runs it (effect 4: `Effect.withFiber`). @internal */
export const withFiber: <A, E = never, R = never>(
  f: (fiber: RuntimeFiber<unknown, unknown>) => Effect.Effect<A, E, R>
) => Effect.Effect<A, E, R> = (Effect as Module).withFiberRuntime ?? (Effect as Module).withFiber

/** The fiber's id, as an interruptor (effect 4: `fiber.id`). @internal */
export const idOf: (fiber: RuntimeFiber<unknown, unknown>) => InterruptorId = v3
  ? (fiber) => (fiber as Module).id()
  : (fiber) => (fiber as Module).id

/** Interrupts `fiber` without waiting (effect 4: `fiber.interruptUnsafe`). @internal */
export const interruptAsFork: (fiber: RuntimeFiber<unknown, unknown>, by: InterruptorId) => void = v3
  ? (fiber, by) => (fiber as Module).unsafeInterruptAsFork(by)
  : (fiber, by) => (fiber as Module).interruptUnsafe(by)

/** The fiber's exit if it has ended (effect 4: `fiber.pollUnsafe`). @internal */
export const poll = <A, E>(fiber: RuntimeFiber<A, E>): Exit.Exit<A, E> | undefined =>
  (v3 ? (fiber as Module).unsafePoll() : (fiber as Module).pollUnsafe()) ?? undefined

/**
 * Calls `f` with the cause of `fiber`'s failure, if it fails other than by
 * interruption. Effect 4 ends a fiber at once, with a defect and without
 * unwinding its stack (no `matchCause`, no finalizer of the stack runs), when
 * a continuation returns a value that is not an effect (`Effect.tap(self,
 * () => {})`): only an observer of the fiber sees that. Effect 3 makes it a
 * defect that goes through the stack, so this is a no-op there.
 *
 * @internal
 */
export const onUnwoundFailure: (fiber: RuntimeFiber<unknown, unknown>, f: (cause: Cause.Cause<unknown>) => void) => void = v3
  ? () => {}
  : (fiber, f) =>
    fiber.addObserver((exit) => {
      if (exit._tag === "Failure" && !isInterruptedOnly(exit.cause)) f(exit.cause)
    })

/**
 * Whether a fiber resumed by a promise callback runs before `fiber`'s next
 * turn (`nextTurn`). On effect 3, on its default scheduler, in a runtime with
 * `setImmediate` (Node, Deno, Bun): that scheduler runs every task in
 * microtasks, and the next turn is a macrotask. On effect 4 always: a
 * resumed fiber runs on its resumer's stack, and the next turn is a task of
 * the fiber's dispatcher (a macrotask on the default scheduler; a step on
 * `Simulation`'s; one that `TestClock` waits for; on a scheduler in `"sync"`
 * mode a microtask, which may come before a promise's callback: the look
 * then recruits as at once). A scheduler of effect 3 that steps its tasks
 * (`Simulation`) or another of the application's own keeps its order.
 * @internal
 */
export const resumesBeforeNextTurn = (fiber: RuntimeFiber<unknown, unknown>): boolean =>
  !v3 || (typeof (globalThis as Module).setImmediate === "function" &&
    (fiber as Module).currentScheduler === (Barrel as Module).Scheduler.defaultScheduler)

/**
 * Runs `task` on a macrotask (`setImmediate`: Node, Deno and Bun have it),
 * once the promise callbacks queued so far, and the fibers they resume on
 * effect 3's default scheduler, have run. A hop, as effect 4's scheduler
 * makes, not a wait: no time passes on the Clock. Returns its cancel.
 */
const onMacrotask = (task: () => void): () => void => {
  const handle = (globalThis as Module).setImmediate(task)
  return () => (globalThis as Module).clearImmediate(handle)
}

/** Resumes on the fiber's next turn (`resumesBeforeNextTurn`): a macrotask on effect 3, a yield on effect 4. @internal */
export const nextTurn: Effect.Effect<void> = v3
  ? async<void>((resume) => {
    const cancel = onMacrotask(() => resume(Effect.void))
    return Effect.sync(cancel)
  })
  : (Effect as Module).yieldNow

/**
 * Runs `task` by the time `fiber`, resumed now, would run, or once the
 * promise callbacks queued so far have run, whichever is later: on effect 3
 * on a macrotask where there is one (`resumesBeforeNextTurn`), else at once,
 * as a resumed fiber waits for its scheduler anyway; on effect 4 (which runs
 * a resumed fiber inside its resumer) as a task of the fiber's dispatcher,
 * which a scheduler that steps its tasks (`Simulation`) sees.
 * @internal
 */
export const onNextTurn: (fiber: RuntimeFiber<unknown, unknown>, task: () => void) => void = v3
  ? (fiber, task) => resumesBeforeNextTurn(fiber) ? void onMacrotask(task) : task()
  : (fiber, task) => (fiber as Module).currentDispatcher.scheduleTask(task, 0)

/** Forks `self` onto a fiber with no parent (effect 4: `Effect.forkDetach`). @internal */
export const forkDaemon: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<RuntimeFiber<A, E>, never, R> = v3
  ? (Effect as Module).forkDaemon
  : (self) => (Effect as Module).forkDetach(self)

/** Gives other fibers a turn (effect 3: `yieldNow()`). @internal */
export const yieldNow: Effect.Effect<void> = v3 ? (Effect as Module).yieldNow() : (Effect as Module).yieldNow

/**
 * `effect`, to resume a fiber from `async` with so that it runs once its
 * resumer yields, on both lines: effect 3 schedules a resumed fiber, effect 4
 * runs it at once on the resumer's stack (a yield first defers it). @internal
 */
export const afterResumer: <A>(effect: Effect.Effect<A>) => Effect.Effect<A> = v3
  ? (effect) => effect
  : (effect) => zipRight(yieldNow, effect)

/**
 * A function that runs effects with the current fiber's services, for
 * callbacks from outside Effect (effect 3: `Runtime.runFork`, effect 4:
 * `Effect.runForkWith`).
 *
 * @internal
 */
export const runForkWithCurrent: <R>() => Effect.Effect<<A, E>(effect: Effect.Effect<A, E, R>) => RuntimeFiber<A, E>, never, R> =
  v3
    ? () => Effect.map((Effect as Module).runtime(), (rt) => (effect: Effect.Effect<any, any, any>) => (Barrel as Module).Runtime.runFork(rt)(effect))
    : () => Effect.map((Effect as Module).context(), (context) => (Effect as Module).runForkWith(context))

/**
 * How the engine ends what an action forked (`children.ts`, `"action"`): the
 * fibers still running in `worker`'s fork scope (those its action forked,
 * and those forked there by fibers the action runs concurrently),
 * interrupted and awaited; `undefined` when there are none. Both lines keep
 * a fiber's running children in a set on the fiber (not public API),
 * emptied as they end, so this is a field read per action. (On effect 3 a
 * `Supervisor` noted forks instead: called each time a worker suspended and
 * resumed, and any fork, even one already ended, sent the action the slow
 * way.) Effect 3 adds a fork to the set as its fiber runs the next
 * operation, before the action's value reaches the worker loop; daemons and
 * fibers forked into a scope are not children on either line.
 *
 * @internal
 */
export const endChildren = (worker: RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined => {
  const children: Set<RuntimeFiber<unknown, unknown>> | null | undefined = (worker as Module)._children
  return children == null || children.size === 0 ? undefined : Fiber.interruptAll(Array.from(children))
}

/**
 * Whether `fiber` keeps the set of children `endChildren` reads: both lines
 * set it as a fiber is made; a later release could rename it.
 *
 * @internal
 */
export const keepsChildren = (fiber: RuntimeFiber<unknown, unknown>): boolean => "_children" in fiber

/**
 * Whether the line lets a fiber an action forks outlive the action, as
 * effect 3's `Effect.forEach` does (`"caller"`); on effect 4 the concurrent
 * `Effect.forEach` ends it with its action, and so does the engine.
 *
 * @internal
 */
export const childrenOutliveActions = v3

/**
 * Gives `f` a `graft` that runs an effect with the caller's fork scope, so
 * that what it forks belongs to the caller (effect 3 only).
 *
 * @internal
 */
export const transplant: <A, E, R>(
  f: (graft: <A2, E2, R2>(effect: Effect.Effect<A2, E2, R2>) => Effect.Effect<A2, E2, R2>) => Effect.Effect<A, E, R>
) => Effect.Effect<A, E, R> = (Effect as Module).transplant ?? ((f) => f((effect) => effect))

// ---------------------------------------------------------------------------
// Fiber-local values
// ---------------------------------------------------------------------------

/**
 * A fiber-local value with a default: a `Context.Reference`, which both
 * lines have but build differently. Read it with `yield*`; set it with
 * `locally`.
 *
 * @internal
 */
export interface Local<A> {
  readonly get: Effect.Effect<A>
  readonly locally: <X, E, R>(self: Effect.Effect<X, E, R>, value: A) => Effect.Effect<X, E, R>
}

/** @internal */
export const makeLocal = <A>(key: string, defaultValue: A): Local<A> => {
  const Ctx = Context as Module
  const reference = v3
    ? Ctx.Reference()(key, { defaultValue: () => defaultValue })
    : Ctx.Reference(key, { defaultValue: () => defaultValue })
  return {
    // Effect 3's Reference is itself the Effect that reads it.
    get: v3 ? reference : withFiber((fiber) => Effect.succeed((fiber as Module).getRef(reference))),
    locally: (self, value) => Effect.provideService(self, reference, value)
  }
}

/**
 * The concurrency `"inherit"` follows: effect 3's `Effect.withConcurrency`;
 * effect 4 has no ambient concurrency, so `"unbounded"`, as effect 3's
 * default.
 *
 * @internal
 */
export const currentConcurrency: Effect.Effect<number | "unbounded"> = v3
  ? (Barrel as Module).FiberRef.get((Barrel as Module).FiberRef.currentConcurrency)
  : Effect.succeed("unbounded")

// ---------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------

/** A clock read synchronously: effect 3's `unsafeCurrentTimeMillis`, effect 4's `currentTimeMillisUnsafe`. @internal */
export interface ClockReader {
  millis(): number
  nanos(): bigint
  sleep(duration: Duration.Duration): Effect.Effect<void>
}

/** The line's names for a `Clock`'s readings (effect 4: `…Unsafe` last). */
const currentTimeMillis = v3 ? "unsafeCurrentTimeMillis" : "currentTimeMillisUnsafe"
const currentTimeNanos = v3 ? "unsafeCurrentTimeNanos" : "currentTimeNanosUnsafe"

/**
 * A fiber's `Clock`, read by the line's names. A class, not closures made
 * per run: a named run reads it once per action, and each call
 * site then meets the same function in every run.
 */
class FiberClock implements ClockReader {
  constructor(private readonly clock: Module) {}
  millis(): number {
    return this.clock[currentTimeMillis]()
  }
  nanos(): bigint {
    return this.clock[currentTimeNanos]()
  }
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return this.clock.sleep(duration)
  }
}

/** The `Clock` a fiber runs with (effect 4: `fiber.getRef(Clock.Clock)`). @internal */
export const clockOf = (fiber: RuntimeFiber<unknown, unknown>): ClockReader =>
  new FiberClock(
    v3
      ? Context.get((fiber as Module).currentDefaultServices, Clock.Clock)
      : (fiber as Module).getRef(Clock.Clock)
  )

/** Runs `self` with `clock` as its `Clock` (effect 4: a service). @internal */
export const withClock: <A, E, R>(self: Effect.Effect<A, E, R>, clock: unknown) => Effect.Effect<A, E, R> = v3
  ? (Effect as Module).withClock
  : (self, clock) => Effect.provideService(self, Clock.Clock as any, clock as never)

/**
 * A clock driven by hand (`Simulation`): the line's `Clock` shape around
 * `millis` and `sleep`.
 *
 * @internal
 */
export const makeClock = (
  millis: () => number,
  sleep: (duration: Duration.Duration) => Effect.Effect<void>
): unknown => {
  const nanos = () => BigInt(Math.round(millis() * 1_000_000))
  const clock: Module = {
    unsafeCurrentTimeMillis: millis,
    unsafeCurrentTimeNanos: nanos,
    currentTimeMillisUnsafe: millis,
    currentTimeNanosUnsafe: nanos,
    monotonicTimeNanosUnsafe: nanos,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanos: Effect.sync(nanos),
    sleep
  }
  if (v3) clock[(Clock as Module).ClockTypeId] = (Clock as Module).ClockTypeId
  return clock
}

/**
 * A scheduler whose tasks run only when `step` is called (`Simulation`):
 * effect 3's `ControlledScheduler`, a hand-written one on effect 4.
 *
 * @internal
 */
export interface SteppedScheduler {
  readonly scheduler: unknown
  readonly pending: () => boolean
  readonly step: () => void
}

/** @internal */
export const makeSteppedScheduler = (): SteppedScheduler => {
  if (v3) {
    const scheduler = new (Barrel as Module).Scheduler.ControlledScheduler()
    return { scheduler, pending: () => scheduler.tasks.buckets.length > 0, step: () => scheduler.step() }
  }
  let tasks: Array<() => void> = []
  const dispatcher = { scheduleTask: (task: () => void) => tasks.push(task), flush: () => {} }
  return {
    scheduler: {
      executionMode: "async",
      shouldYield: (fiber: Module) => fiber.currentOpCount > 2048,
      makeDispatcher: () => dispatcher
    },
    pending: () => tasks.length > 0,
    step: () => {
      const now = tasks
      tasks = []
      for (const task of now) task()
    }
  }
}

/** Runs `effect` on `scheduler` (`SteppedScheduler.scheduler`). @internal */
export const runForkOn = <A, E>(effect: Effect.Effect<A, E>, scheduler: unknown): RuntimeFiber<A, E> =>
  (Effect.runFork as any)(effect, { scheduler })

// ---------------------------------------------------------------------------
// Deferred, Queue, Schedule, Schema
// ---------------------------------------------------------------------------

/** A `Deferred` made outside Effect (effect 4: `Deferred.makeUnsafe`). @internal */
export const makeDeferred: <A, E = never>() => Deferred.Deferred<A, E> = v3
  ? () => (Deferred as Module).unsafeMake((Barrel as Module).FiberId.none)
  : (Deferred as Module).makeUnsafe

/** Completes a `Deferred` outside Effect (effect 4: `Deferred.doneUnsafe`). @internal */
export const completeDeferred: <A, E>(self: Deferred.Deferred<A, E>, exit: Exit.Exit<A, E>) => void =
  (Deferred as Module).unsafeDone ?? (Deferred as Module).doneUnsafe

/** Offers to a queue outside Effect (effect 4: `Queue.offerUnsafe`). @internal */
export const offerUnsafe: <A>(self: Queue.Queue<A>, value: A) => void = (Queue as Module).unsafeOffer ??
  (Queue as Module).offerUnsafe

/** How many values a queue holds now. @internal */
export const queueSize: <A>(self: Queue.Queue<A>) => number = v3
  ? (self) => Option.getOrElse((self as Module).unsafeSize(), () => 0)
  : (Queue as Module).sizeUnsafe

/** Recurs while both recur, with the longer delay (effect 4: `Schedule.max`). @internal */
export const intersect = <A, B>(left: A, right: B): Schedule.Schedule<unknown, unknown> =>
  v3 ? (Schedule as Module).intersect(left, right) : (Schedule as Module).max([left, right])

/**
 * A schedule's steps: each call waits the schedule's next delay, and fails
 * once the schedule is done (effect 3: a `driver`'s `next`; effect 4:
 * `toStepWithSleep`).
 *
 * @internal
 */
export const stepsOf: <I, R>(
  schedule: Schedule.Schedule<unknown, I, R>
) => Effect.Effect<(input: I) => Effect.Effect<unknown, unknown, R>, never, R> = v3
  ? (schedule) => Effect.map((Schedule as Module).driver(schedule), (driver: Module) => (input) => driver.next(input))
  : (Schedule as Module).toStepWithSleep

/**
 * A schema both lines accept as an option: what `Schema.Schema<A, I>` is on
 * effect 3 and what a codec is on effect 4, read by its `Type` and
 * `Encoded`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SchemaOf<A, I> {
  readonly Type: A
  readonly Encoded: I
}

/** Decodes unknown input with a schema (effect 4: `Schema.decodeUnknownEffect`). @internal */
export const decodeUnknown: <A>(schema: SchemaOf<A, unknown>) => (input: unknown) => Effect.Effect<A, unknown> =
  (Schema as Module).decodeUnknownEffect ?? (Schema as Module).decodeUnknown

/** @internal */
export const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && effectTypeId in u
const effectTypeId: string | symbol = (Effect as Module).EffectTypeId ?? (Effect as Module).TypeId

/** Whether an Effect is an `Exit`, already complete (as `Exit.isExit`, asked of an Effect). @internal */
export const isExit = <A, E, R>(effect: Effect.Effect<A, E, R>): effect is Exit.Exit<A, E> & Effect.Effect<A, E, R> => {
  const tag = (effect as { readonly _tag?: unknown })._tag
  return tag === "Success" || tag === "Failure"
}

// ---------------------------------------------------------------------------
// Stream
// ---------------------------------------------------------------------------

/** Whether `u` is a Stream. @internal */
export const isStream: (u: unknown) => u is Stream.Stream<unknown, unknown, unknown> = (Stream as Module).isStream ??
  ((u: unknown) => typeof u === "object" && u !== null && (Stream as Module).StreamTypeId in u)

/** A stream built in a scope that lives as long as the stream (effect 4: `Stream.unwrap`). @internal */
export const unwrapScoped: <A, E2, R2, E, R>(
  effect: Effect.Effect<Stream.Stream<A, E2, R2>, E, R>
) => Stream.Stream<A, E | E2, R2 | Exclude<R, Scope.Scope>> = (Stream as Module).unwrapScoped ?? (Stream as Module).unwrap

/**
 * A stream's pull as arrays, `undefined` at its end (effect 3 pulls Chunks
 * and fails with `Option.none()` at the end; effect 4 pulls non-empty arrays
 * and fails with `Cause.Done`).
 *
 * @internal
 */
export const toArrays: <A, E, R>(
  self: Stream.Stream<A, E, R>
) => Effect.Effect<Effect.Effect<ReadonlyArray<A> | undefined, E, R>, never, R | Scope.Scope> = v3
  ? (self) =>
    Effect.map((Stream as Module).toPull(self), (pull: Effect.Effect<Chunk.Chunk<any>, Option.Option<any>>) => {
      const next: Effect.Effect<ReadonlyArray<any> | undefined, any> = Effect.matchEffect(pull, {
        onFailure: (error) => Option.isNone(error) ? Effect.succeed(undefined) : Effect.fail(error.value),
        onSuccess: (chunk) => Chunk.isEmpty(chunk) ? next : Effect.succeed(Chunk.toReadonlyArray(chunk))
      })
      return next
    })
  : (self) =>
    Effect.map((Stream as Module).toPull(self), (pull: Effect.Effect<ReadonlyArray<any>, unknown>) =>
      Effect.catchIf(pull, (Cause as Module).isDone, () => Effect.succeed(undefined)) as any)

/**
 * A stream of the arrays `pull` gives, ending at `undefined` (see
 * `toArrays`).
 *
 * @internal
 */
export const fromArrays: <A, E, R>(pull: Effect.Effect<ReadonlyArray<A> | undefined, E, R>) => Stream.Stream<A, E, R> = v3
  ? (pull) => {
    // A channel that writes each array as it comes: half of what `Stream.repeatEffectChunkOption`
    // costs per chunk (its Option per pull, its unfold's tuple), about 2 µs of 4.5 here.
    const Channel = (Barrel as Module).Channel
    const next: unknown = Channel.flatMap(
      Channel.fromEffect(pull),
      (out: ReadonlyArray<unknown> | undefined) =>
        out === undefined ? Channel.void : Channel.flatMap(Channel.write((Chunk as Module).unsafeFromArray(out)), () => next)
    )
    return (Stream as Module).fromChannel(next)
  }
  : (pull) => {
    const next: Effect.Effect<ReadonlyArray<unknown>, unknown, unknown> = Effect.flatMap(
      pull,
      (out) => out === undefined ? (Cause as Module).done() : out.length === 0 ? next : Effect.succeed(out)
    )
    return (Stream as Module).fromPull(Effect.succeed(next))
  }

/** Sees each array of values the stream gives before it goes on (effect 3: Chunks). @internal */
export const tapArrays: <A>(
  f: (values: ReadonlyArray<A>) => void
) => <E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R> = v3
  ? (f) => (self) =>
    (Stream as Module).mapChunks(self, (chunk: Chunk.Chunk<any>) => {
      f(Chunk.toReadonlyArray(chunk))
      return chunk
    })
  : (f) => (self) =>
    (Stream as Module).mapArray(self, (values: ReadonlyArray<any>) => {
      f(values)
      return values
    })

/** Runs `f` on each array of values the stream gives (effect 3: `runForEachChunk`). @internal */
export const runForEachArray: <A, E, R, E2, R2>(
  self: Stream.Stream<A, E, R>,
  f: (values: ReadonlyArray<A>) => Effect.Effect<void, E2, R2>
) => Effect.Effect<void, E | E2, R | R2> = v3
  ? (self, f) => (Stream as Module).runForEachChunk(self, (chunk: Chunk.Chunk<any>) => f(Chunk.toReadonlyArray(chunk)))
  : (Stream as Module).runForEachArray

// ---------------------------------------------------------------------------
// Metrics and tracing
// ---------------------------------------------------------------------------

/** Effect 3: the key each metric made here was made from, so that a series' hook is found once, not per update. */
const keys = new WeakMap<object, unknown>()

/** The boundaries each histogram was made with: what `histogramSeriesOf` needs to own a series. */
const histogramBoundaries = new WeakMap<object, ReadonlyArray<number>>()

/** Effect 3: a metric from its key, as `Metric.gauge`, `Metric.counter` and `Metric.histogram` make it, its key kept. */
const fromKey = (key: unknown): any => {
  const metric = (Metric as Module).fromMetricKey(key)
  keys.set(metric, key)
  return metric
}

/**
 * A gauge of numbers, as `Metric.gauge` makes it on either line (its first
 * overload, the same on both).
 *
 * @internal
 */
export type Gauge = typeof Metric.gauge extends {
  (name: string, options?: any): infer G
  (name: string, options: any): unknown
} ? G : never

/** `Metric.gauge(name, { description })`, whose series `seriesOf` binds once. @internal */
export const gauge = (name: string, description: string): Gauge =>
  v3 ? fromKey((Barrel as Module).MetricKey.gauge(name, { description })) : Metric.gauge(name, { description })

/** `Metric.counter(name, { description, incremental: true })`, whose series `seriesOf` binds once. @internal */
export const counter = (name: string, description: string): Counter =>
  v3
    ? fromKey((Barrel as Module).MetricKey.counter(name, { description, incremental: true }))
    : Metric.counter(name, { description, incremental: true })

/** A histogram with exponential boundaries (the two lines take them differently). @internal */
export const exponentialHistogram = (
  name: string,
  boundaries: { readonly start: number; readonly factor: number; readonly count: number },
  description: string
): ReturnType<typeof Metric.histogram> => {
  if (!v3) {
    const values = (Metric as Module).exponentialBoundaries(boundaries)
    const metric = (Metric as Module).histogram(name, { boundaries: values, description })
    histogramBoundaries.set(metric, values)
    return metric
  }
  const values = (Barrel as Module).MetricBoundaries.exponential(boundaries)
  const metric = fromKey((Barrel as Module).MetricKey.histogram(name, values, description))
  histogramBoundaries.set(metric, values.values)
  return metric
}

/**
 * A counter of numbers, as `Metric.counter` makes it on either line (its
 * first overload, the same on both).
 *
 * @since 0.1.0
 * @category models
 */
export type Counter = typeof Metric.counter extends {
  (name: string, options?: any): infer C
  (name: string, options: any): unknown
} ? C : never

/** One series of a metric, tagged `pipeline=<name>`, updated synchronously; it may exist from its lookup on. @internal */
export interface Series {
  readonly update: (value: number) => void
  readonly modify: (delta: number) => void
  /** Makes the series exist, at its initial value. */
  readonly touch: () => void
  /** Every read of the series runs the `beforeRead` it was looked up with first (see `seriesOf`). */
  readonly readsRunBeforeRead: boolean
}

/** One series of a histogram (see `histogramSeriesOf`). @internal */
export interface HistogramSeries {
  readonly update: (value: number) => void
  /** `times` observations of 0, as `times` calls of `update(0)` would record them. */
  readonly updateZeros: (times: number) => void
  /** As `Series.readsRunBeforeRead`. */
  readonly readsRunBeforeRead: boolean
}

/**
 * The registry's hooks that run a `beforeRead` as the series is read
 * (`Metric.value`, `Metric.snapshot`, an exporter): those made here, for
 * a series the registry had no hook for yet.
 */
const readHooks = new WeakSet<object>()

/**
 * The `pipeline=<name>` series of `metric`, looked up once where the line
 * allows it. Effect 3: for a metric made here (`gauge`, `counter`), the
 * registry's hook for its tagged key, bound here (what `unsafeUpdate` finds
 * per call through a cache keyed by the tag array); other metrics tag each
 * update (a stable tag array, so that Effect finds the hook in that cache).
 * Effect 4: the fiber's services with `pipeline=<name>` added to the
 * metric attributes, built once (`Metric.withAttributes` builds them per
 * update), and the series' hooks found once in the fiber's registry (by the
 * metric's `hook`, not public API in 4.x; without it, each update looks the
 * series up). Bound for one run, a series deleted from the registry during
 * the run is not made again, as it is on effect 3.
 *
 * With `beforeRead`, a series the registry has no hook for yet is made
 * with Effect's own hook inside one that runs `beforeRead` first on every
 * read (`readsRunBeforeRead`), so that what the caller counts may reach the
 * series as it is read rather than as it changes. A series made elsewhere
 * first keeps its hook: a reader may hold it (effect 3 caches a tagged
 * metric's hook), so the caller must keep it up to date.
 *
 * @internal
 */
export const seriesOf: (
  metric: object,
  name: string,
  fiber: RuntimeFiber<unknown, unknown> | undefined,
  beforeRead?: (() => void) | undefined
) => Series = v3
  ? (metric, name, _fiber, beforeRead) => {
    const tags = pipelineTags(name)
    const key = keys.get(metric)
    if (key !== undefined) {
      const tagged = (Barrel as Module).MetricKey.taggedWithLabels(key, tags)
      const registry = (Metric as Module).globalMetricRegistry
      const hook = beforeRead !== undefined && isNewSeries3(tagged)
        ? registerHook3(tagged, registry.get(tagged), beforeRead)
        : registry.get(tagged)
      return { update: hook.update, modify: hook.modify, touch: hook.get, readsRunBeforeRead: readHooks.has(hook) }
    }
    const m = metric as Module
    return {
      update: (value) => m.unsafeUpdate(value, tags),
      modify: (delta) => m.unsafeModify(delta, tags),
      touch: () => m.unsafeValue(tags),
      readsRunBeforeRead: false
    }
  }
  : (metric, name, fiber, beforeRead) => {
    const m = metric as Module
    const context = pipelineContext(name, fiber)
    if (typeof m.hook === "function") {
      const hooks = beforeRead !== undefined && isNewSeries4(m, context)
        ? registerHooks4(m, context, m.hook(context), beforeRead)
        : m.hook(context)
      return new BoundHooks(hooks, context)
    }
    return {
      update: (value) => m.updateUnsafe(value, context),
      modify: (delta) => m.modifyUnsafe(delta, context),
      touch: () => m.valueUnsafe(context),
      readsRunBeforeRead: false
    }
  }

/** `hooks` (`get`, `update`, `modify`), whose `get` runs `beforeRead` first when there is one. */
const readingFirst = (hooks: Module, beforeRead: (() => void) | undefined): Module =>
  beforeRead === undefined ? hooks : {
    get: (...args: Array<unknown>) => {
      beforeRead()
      return hooks.get(...args)
    },
    update: hooks.update,
    modify: hooks.modify
  }

/** Effect 3: whether the registry has no hook for `key` yet (`false` where its map, not public API, is not there). */
const isNewSeries3 = (key: unknown): boolean => {
  const map = (Metric as Module).globalMetricRegistry.map
  return map !== undefined && Option.isNone(MutableHashMap.get(map, key))
}

/** Effect 3: puts `hooks` in the registry for `key`, as `MetricHook.make` makes them, reading first with `beforeRead`; returns them. */
const registerHook3 = (key: unknown, hooks: Module, beforeRead: (() => void) | undefined): Module => {
  const hook = (Barrel as Module).MetricHook.make(readingFirst(hooks, beforeRead))
  if (beforeRead !== undefined) readHooks.add(hook)
  MutableHashMap.set((Metric as Module).globalMetricRegistry.map, key, hook)
  return hook
}

/** Effect 4: whether the fiber's registry has no series of `m` with `context`'s attributes yet (`false` where `key` and `metadata`, not public API, are not there). */
const isNewSeries4 = (m: Module, context: Context.Context<never>): boolean =>
  typeof m.key === "function" && typeof m.metadata === "function" &&
  !(Context.get(context, (Metric as Module).MetricRegistry) as Map<string, unknown>).has(m.key(context))

/** Effect 4: puts `hooks` in the registry for `m`'s series with `context`'s attributes, reading first with `beforeRead`; returns them. */
const registerHooks4 = (m: Module, context: Context.Context<never>, hooks: Module, beforeRead: (() => void) | undefined): Module => {
  const registered = readingFirst(hooks, beforeRead)
  if (beforeRead !== undefined) readHooks.add(registered)
  const registry = Context.get(context, (Metric as Module).MetricRegistry) as Map<string, unknown>
  // `metadata` reads the attributes `key` merged just before.
  registry.set(m.key(context), m.metadata(registered))
  return registered
}

/** Effect 4: a series' hooks, with the services they take; methods, as `FiberClock`'s, for the updates of every step. */
class BoundHooks implements Series {
  readonly readsRunBeforeRead: boolean
  constructor(private readonly hooks: Module, private readonly context: Context.Context<never>) {
    this.readsRunBeforeRead = readHooks.has(hooks)
  }
  update(value: number): void {
    this.hooks.update(value, this.context)
  }
  modify(delta: number): void {
    this.hooks.modify(delta, this.context)
  }
  touch(): void {
    this.hooks.get(this.context)
  }
}

/** Effect 3: the tags of the `pipeline=<name>` series. */
const pipelineTags = (name: string): ReadonlyArray<unknown> => [(Barrel as Module).MetricLabel.make("pipeline", name)]

/** Effect 4: the fiber's services, with `pipeline=<name>` added to the metric attributes. */
const pipelineContext = (name: string, fiber: RuntimeFiber<unknown, unknown> | undefined): Context.Context<never> => {
  const services = fiber === undefined ? Context.empty() : (fiber as Module).context
  const attributes = Context.get(services, (Metric as Module).CurrentMetricAttributes) as Record<string, string>
  return Context.add(services, (Metric as Module).CurrentMetricAttributes, { ...attributes, pipeline: name })
}

/** The series whose state effect-ordered keeps itself (`HistogramState`), by the hooks it put in a registry. */
const ownedHistograms = new WeakMap<object, HistogramState>()

/**
 * The `pipeline=<name>` series of a histogram made by `exponentialHistogram`,
 * created on the spot when the registry has none: the histograms take one
 * or two observations per action, and Effect's hook takes them one call and
 * one binary search each (half a named run's CPU on instant actions). A
 * series the registry has no other hook for is made here, as a hook whose
 * state is a `HistogramState`, which the registry reads like Effect's own
 * (the registry's map, effect 3, and the metric's `key` and `metadata`,
 * effect 4, are not public API); later runs of the same name find it there.
 * `beforeRead` as in `seriesOf`. A series made elsewhere first (the caller
 * read or updated it) keeps its hook, and gets each observation through it.
 * The series exists from this call on.
 *
 * @internal
 */
export const histogramSeriesOf = (
  metric: object,
  name: string,
  fiber: RuntimeFiber<unknown, unknown> | undefined,
  beforeRead?: (() => void) | undefined
): HistogramSeries => {
  const hook = v3 ? histogramHook3(metric, name, beforeRead) : histogramHook4(metric, name, fiber, beforeRead)
  const readsRunBeforeRead = readHooks.has(hook.owner)
  const state = ownedHistograms.get(hook.owner)
  if (state !== undefined) return { update: state.update, updateZeros: (times) => state.updateZeros(times), readsRunBeforeRead }
  const update = hook.update
  return {
    update,
    updateZeros: (times) => {
      for (let i = 0; i < times; i++) update(0)
    },
    readsRunBeforeRead
  }
}

/** A histogram series' hook in its registry: what to update it with, and the object `ownedHistograms` knows it by. */
interface HistogramHook {
  readonly owner: object
  readonly update: (value: number) => void
}

const histogramHook3 = (metric: object, name: string, beforeRead: (() => void) | undefined): HistogramHook => {
  const key = (Barrel as Module).MetricKey.taggedWithLabels(keys.get(metric), pipelineTags(name))
  if (isNewSeries3(key)) {
    const state = new HistogramState(histogramBoundaries.get(metric)!, Number.MIN_VALUE)
    const get = () => (Barrel as Module).MetricState.histogram(state.snapshot())
    ownedHistograms.set(registerHook3(key, { get, update: state.update, modify: state.update }, beforeRead), state)
  }
  const hook = (Metric as Module).globalMetricRegistry.get(key)
  return { owner: hook, update: hook.update }
}

const histogramHook4 = (
  metric: object,
  name: string,
  fiber: RuntimeFiber<unknown, unknown> | undefined,
  beforeRead: (() => void) | undefined
): HistogramHook => {
  const m = metric as Module
  const context = pipelineContext(name, fiber)
  if (typeof m.hook !== "function") return { owner: m, update: (value) => m.updateUnsafe(value, context) }
  if (isNewSeries4(m, context)) {
    const state = new HistogramState(histogramBoundaries.get(metric)!, -Number.MAX_VALUE)
    const get = () => state.snapshot()
    ownedHistograms.set(registerHooks4(m, context, { get, update: state.update, modify: state.update }, beforeRead), state)
  }
  const hooks = m.hook(context)
  return { owner: hooks, update: (value) => hooks.update(value, context) }
}

/** What a fiber's tracing settings say: its tracer when tracing is on, its current span, whether spans are timed. @internal */
export const tracingOf = (fiber: RuntimeFiber<unknown, unknown>): {
  readonly tracer: Tracer.Tracer | undefined
  readonly span: Tracer.AnySpan | undefined
  readonly timing: boolean
} => {
  const f = fiber as Module
  if (v3) {
    return {
      tracer: f.getFiberRef((Barrel as Module).FiberRef.currentTracerEnabled) ? f.currentTracer : undefined,
      span: f.currentSpan,
      timing: f.getFiberRef((Barrel as Module).FiberRef.currentTracerTimingEnabled)
    }
  }
  return {
    tracer: f.getRef((Barrel as Module).References.TracerEnabled) ? f.getRef(Tracer.Tracer) : undefined,
    span: (Context as Module).getOrUndefined(f.context, (Tracer as Module).ParentSpan),
    timing: f.getRef((Barrel as Module).References.TracerTimingEnabled)
  }
}

/** Starts an internal span (effect 4 takes the arguments as one object). @internal */
export const startSpan: (
  tracer: Tracer.Tracer,
  name: string,
  parent: Option.Option<Tracer.AnySpan>,
  startTime: bigint
) => Tracer.Span = v3
  ? (tracer, name, parent, startTime) => (tracer as Module).span(name, parent, Context.empty(), [], startTime, "internal")
  : (tracer, name, parent, startTime) =>
    (tracer as Module).span({
      name,
      parent,
      annotations: Context.empty(),
      links: [],
      startTime,
      kind: "internal",
      root: false,
      sampled: true
    })

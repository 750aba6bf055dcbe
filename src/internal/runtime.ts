/**
 * The core's uses of Effect APIs that effect 4 renames or drops (see
 * issue #19), in one place: the engine, its policies and the public
 * modules use these names only, so that supporting a second Effect line
 * means changing this file, not the engine. Each is the effect 3 binding
 * itself (no wrapper), so the hot path pays nothing for the indirection.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import type * as Supervisor from "effect/Supervisor"
import type * as Tracer from "effect/Tracer"

/** A running fiber, as the engine holds its workers (effect 4: `Fiber.Fiber`). @internal */
export type RuntimeFiber<A, E = never> = Fiber.RuntimeFiber<A, E>

/** Who interrupts: what `interruptAsFork` takes (effect 4: a fiber id number). @internal */
export type InterruptorId = FiberId.FiberId

/** Suspends until `register`'s callback is called (effect 4: `Effect.callback`). @internal */
export const async: <A, E = never, R = never>(
  register: (resume: (effect: Effect.Effect<A, E, R>) => void) => void | Effect.Effect<void, never, R>
) => Effect.Effect<A, E, R> = Effect.async

/** Runs `f` with the fiber that runs it (effect 4: `Effect.withFiber`). @internal */
export const withFiber: <A, E = never, R = never>(
  f: (fiber: RuntimeFiber<unknown, unknown>) => Effect.Effect<A, E, R>
) => Effect.Effect<A, E, R> = (f) => Effect.withFiberRuntime((fiber) => f(fiber))

/** The fiber's id, as an interruptor (effect 4: `fiber.id`). @internal */
export const idOf = (fiber: RuntimeFiber<unknown, unknown>): InterruptorId => fiber.id()

/** Interrupts `fiber` without waiting (effect 4: `fiber.interruptUnsafe`). @internal */
export const interruptAsFork = (fiber: RuntimeFiber<unknown, unknown>, by: InterruptorId): void =>
  fiber.unsafeInterruptAsFork(by)

/** The `Clock` a fiber runs with (effect 4: `fiber.getRef(Clock.Clock)`). @internal */
export const clockOf = (fiber: RuntimeFiber<unknown, unknown>): Clock.Clock =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

/** Both causes, the first first (effect 4: `Cause.combine`). @internal */
export const sequential: <E, E2>(left: Cause.Cause<E>, right: Cause.Cause<E2>) => Cause.Cause<E | E2> =
  Cause.sequential

/** Fails with `onTimeout()` after `duration`, interrupting the effect (effect 4: `Effect.timeoutOrElse`). @internal */
export const timeoutFail: <A, E, R, E1>(
  self: Effect.Effect<A, E, R>,
  options: { readonly onTimeout: () => E1; readonly duration: Duration.DurationInput }
) => Effect.Effect<A, E | E1, R> = Effect.timeoutFail

/** Runs `self` with a fiber-local value set (effect 4: a `Context.Reference` and `Effect.provideService`). @internal */
export const locally: <A, E, R, X>(self: Effect.Effect<A, E, R>, ref: FiberRef.FiberRef<X>, value: X) => Effect.Effect<A, E, R> =
  Effect.locally

/**
 * Gives `f` a `graft` that runs an effect with the caller's fork scope, so
 * that what it forks belongs to the caller (effect 4 has no `transplant`).
 *
 * @internal
 */
export const transplant: <A, E, R>(
  f: (graft: <A2, E2, R2>(effect: Effect.Effect<A2, E2, R2>) => Effect.Effect<A2, E2, R2>) => Effect.Effect<A, E, R>
) => Effect.Effect<A, E, R> = Effect.transplant

/** Runs `self` with `supervisor` seeing every fiber it forks (effect 4 has no `Supervisor`). @internal */
export const supervised: <A, E, R, X>(self: Effect.Effect<A, E, R>, supervisor: Supervisor.Supervisor<X>) => Effect.Effect<A, E, R> =
  Effect.supervised

/** `Effect.isEffect` without its `dual` wrapper: the engine asks it of every action. @internal */
export const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && Effect.EffectTypeId in u

/** Whether an Effect is an `Exit`, already complete (as `Exit.isExit`, asked of an Effect). @internal */
export const isExit = <A, E, R>(effect: Effect.Effect<A, E, R>): effect is Exit.Exit<A, E> & Effect.Effect<A, E, R> => {
  const tag = (effect as { readonly _tag?: unknown })._tag
  return tag === "Success" || tag === "Failure"
}

/**
 * What a fiber's tracing settings say (effect 4: `References.TracerEnabled`,
 * `getRef(Tracer.Tracer)`): its tracer when tracing is on, its current span,
 * and whether spans are timed.
 *
 * @internal
 */
export const tracingOf = (fiber: RuntimeFiber<unknown, unknown>): {
  readonly tracer: Tracer.Tracer | undefined
  readonly span: Tracer.AnySpan | undefined
  readonly timing: boolean
} => ({
  tracer: fiber.getFiberRef(FiberRef.currentTracerEnabled) ? fiber.currentTracer : undefined,
  span: fiber.currentSpan,
  timing: fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
})

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { Deadlines, type Watched } from "./deadlines.ts"
import * as runtime from "./runtime.ts"

/** An attempt bounded by `timeout`: what it runs on, and its entry in the run's deadlines. */
interface Attempt extends Watched {
  readonly fiber: runtime.RuntimeFiber<unknown, unknown>
  /** Its deadline came: it is being interrupted, and fails with the timeout error once it has ended. */
  timedOut: boolean
}

/** Runs an attempt within the timeout, failing with the line's timeout error past it. @internal */
export type Bound = <B, E, R>(attempt: Effect.Effect<B, E, R>) => Effect.Effect<B, E | runtime.TimeoutException, R>

/**
 * The partition worker's `timeout`, for the attempts of one run: each
 * attempt runs on a fiber of its own, and one watching fiber (`Deadlines`),
 * forked into the scope, interrupts those past their deadline. The line's
 * `Effect.timeout` around each attempt would race it against a timer of its
 * own, on two fibers, at several times the worker's whole cost per record
 * on effect 3 (docs/redis.md). The engine's own watcher cannot serve here:
 * at a deadline it stops the worker, and with it the attempt's retries.
 *
 * As with `Effect.timeout`, a timed-out attempt fails once it has ended
 * (its finalizers have run), with the error `Effect.timeout` gives, and
 * what it ends with after its deadline is not its result. An attempt
 * already complete when made (an `Exit`) is not watched.
 *
 * @internal
 */
export const boundAttempts = (timeout: Duration.Duration): Effect.Effect<Bound, never, Scope.Scope> =>
  runtime.withFiber((fiber) => {
    const clock = runtime.clockOf(fiber)
    const deadlines = new Deadlines<Attempt, never>(timeout, clock, (attempt) => {
      attempt.timedOut = true
      // A fiber of its own: a slow finalizer holds up no other deadline.
      return Effect.asVoid(runtime.forkDaemon(Fiber.interrupt(attempt.fiber)))
    })
    const bound: Bound = <B, E, R>(attempt: Effect.Effect<B, E, R>) =>
      runtime.isExit(attempt) ? attempt : Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(runtime.forkDaemon(restore(attempt)), (attemptFiber) =>
          Effect.onInterrupt(
            restore(runtime.async<B, E | runtime.TimeoutException>((resume) => {
              const watched: Attempt = { fiber: attemptFiber, timedOut: false, due: undefined, earlier: undefined, later: undefined }
              deadlines.watch(watched, clock.millis())
              attemptFiber.addObserver((exit) => {
                deadlines.unwatch(watched)
                resume(watched.timedOut ? Effect.fail(runtime.timeoutError(timeout)) : exit)
              })
              return Effect.sync(() => deadlines.unwatch(watched))
            })),
            // Its waiter is interrupted (even before it waits): so is the attempt, which it waits for.
            () => Effect.asVoid(Fiber.interrupt(attemptFiber))
          ))
      )
    return Effect.as(Effect.forkScoped(deadlines.loop), bound)
  })

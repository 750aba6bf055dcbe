import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"

/**
 * How long a fiber that an action forks (`Effect.fork`) lives, as in the
 * Effect counterpart of each operator:
 * - `"caller"` (`Ordered.forEach`, like `Effect.forEach`): it belongs to the
 *   fiber that started the run, and outlives the run.
 * - `"action"` (`Ordered.mapEffect`, like `Stream.mapEffect`): it is
 *   interrupted when its own action ends, before the action's result is filed.
 *
 * Actions run inline on worker fibers, so without either rule a child would
 * live as long as the worker that happened to run its action.
 *
 * @internal
 */
export type ChildLifetime = "caller" | "action"

/**
 * Notes which watched fibers (the workers) forked something, so that only an
 * action that forked pays for ending its children: the others cost a `Set`
 * lookup. A fork it notes may be a daemon or a fiber forked in a scope, which
 * are not children: the worker's actual children are read when it settles.
 *
 * @internal
 */
export class ForkWatch extends Supervisor.AbstractSupervisor<void> {
  readonly value = Effect.void
  private readonly watched = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  private readonly forkedFrom = new Set<Fiber.RuntimeFiber<unknown, unknown>>()

  watch(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    this.watched.add(fiber)
  }

  override onStart<A, E, R>(
    _context: unknown,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>,
    _fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    if (parent._tag === "Some" && this.watched.has(parent.value)) this.forkedFrom.add(parent.value)
  }

  /**
   * Interrupts the children `worker` forked since the last call, and waits
   * for them to end; `undefined` when it forked nothing.
   */
  endChildren(worker: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined {
    if (this.forkedFrom.size === 0 || !this.forkedFrom.delete(worker)) return undefined
    return Effect.flatMap(worker.children, Fiber.interruptAll)
  }
}

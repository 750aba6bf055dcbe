import * as Effect from "effect/Effect"
import * as runtime from "./runtime.ts"

/**
 * How long a fiber that an action forks (`Effect.fork`) lives, as in the
 * Effect counterpart of each operator:
 * - `"caller"` (`Ordered.forEach`, like `Effect.forEach`): it belongs to the
 *   fiber that started the run, and outlives the run.
 * - `"action"` (`Ordered.mapEffect`, like `Stream.mapEffect`): it is
 *   interrupted when its own action ends, before the action's result is filed.
 *
 * Actions run inline on worker fibers, so without either rule a child would
 * live as long as the worker that happened to run its action. On effect 4,
 * where the concurrent `Effect.forEach` ends what an action forked with the
 * action, `"caller"` reads as `"action"` (`runtime.childrenOutliveActions`).
 *
 * @internal
 */
export type ChildLifetime = "caller" | "action"

/** What the run dies with if the line's fibers no longer keep their children where `runtime.endChildren` reads them. */
const noChildren = new Error(
  "effect-ordered cannot end the fibers an action forks: this version of effect keeps no `_children` set on its fibers (please report it)"
)

/**
 * The child lifetime of one run: how the engine's fibers start, and what an
 * action's end must wait for. Everything the rule needs lives here.
 *
 * @internal
 */
export class Children<R> {
  /** Whether an action's end ends what it forked (`"action"`, and `"caller"` on effect 4). */
  private readonly endsWithAction: boolean
  /** The worker loop as every worker runs it (grafted once, not per fork). */
  worker: Effect.Effect<void, never, R>

  constructor(lifetime: ChildLifetime, worker: Effect.Effect<void, never, R>) {
    this.endsWithAction = lifetime === "action" || !runtime.childrenOutliveActions
    this.worker = worker
  }

  /**
   * Runs `start`, which forks the run's first fibers, under the rule: where
   * what an action forks outlives it (`"caller"` on effect 3), every worker
   * runs grafted; else the run dies at once, rather than let forks outlive
   * their actions, if the line's fibers keep no children set.
   */
  establish<X, E, R2>(start: Effect.Effect<X, E, R2>): Effect.Effect<X, E, R2> {
    if (this.endsWithAction) return runtime.withFiber((fiber) => runtime.keepsChildren(fiber) ? start : Effect.die(noChildren))
    return runtime.transplant((graft) => {
      this.worker = graft(this.worker)
      return start
    })
  }

  /**
   * The action `worker` ran ended: `"action"` interrupts what it forked,
   * and the effect waits for that; `undefined` when there is nothing to end.
   */
  end(worker: runtime.RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined {
    return this.endsWithAction ? runtime.endChildren(worker) : undefined
  }
}

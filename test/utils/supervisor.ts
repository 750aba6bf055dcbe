import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Supervisor from "effect/Supervisor"

/** Records every fiber started under it (Supervisor.track forgets fibers once they end). */
export class RecordingSupervisor extends Supervisor.AbstractSupervisor<void> {
  readonly fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
  readonly value = Effect.void
  override onStart<A, E, R>(_c: unknown, _e: Effect.Effect<A, E, R>, _p: unknown, fiber: Fiber.RuntimeFiber<A, E>) {
    this.fibers.push(fiber as Fiber.RuntimeFiber<unknown, unknown>)
  }
  /** How many of the recorded fibers have not ended. */
  running(): number {
    return this.fibers.filter((fiber) => fiber.unsafePoll() === null).length
  }
}

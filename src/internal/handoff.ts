import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type { Hedger } from "./hedge.ts"
import type { PipelineMetrics } from "./metrics.ts"
import type { Outlet } from "./ordering.ts"
import * as runtime from "./runtime.ts"
import { FAILED, type Task } from "./task.ts"
import type { Window } from "./window.ts"

/**
 * A caller that takes each result as the order releases it (`Ordered.forEach`),
 * with nothing downstream to wait for: the result leaves the window at once.
 *
 * @internal
 */
export interface Collector<B> {
  /** Keeps a released result; `undefined` drops it (`discard: true`). */
  readonly keep: ((value: B) => void) | undefined
}

/**
 * The engine's hand-off to its consumer: the results the order released and
 * the consumer has yet to take, the failure the stream ends with once they
 * are taken, and the consumer while it waits for more. The order releases
 * into it (`Outlet`); `Engine.pull` takes from it. With a `collector`, the
 * results go straight to it instead, and the consumer is woken only to end
 * the run: the window never waits for a consumer's turn, and workers do
 * not park for it.
 *
 * @internal
 */
export class Handoff<A, B, R> implements Outlet<A, B> {
  /** Released, not yet taken. */
  output: Array<B> = []
  /** Set when the stream must fail once `output` has been handed over. */
  terminal: Cause.Cause<unknown> | undefined
  /** With `name` (set as the run starts): records each release. */
  metrics: PipelineMetrics | undefined
  /** With `hedge` (set as the run starts): told when the order waits for an action still running. */
  hedger: Hedger<A, B, R> | undefined
  /** Set before the run starts, for a caller that takes results as they are released. */
  collector: Collector<B> | undefined
  private consumer: ((effect: Effect.Effect<void>) => void) | undefined
  /** The waiting consumer's fiber, on whose scheduler a later wake runs. */
  private consumerFiber: runtime.RuntimeFiber<unknown, unknown> | undefined
  /** A later wake is on the consumer's scheduler. */
  private wakeScheduled = false

  /**
   * `workers.concurrency` is the bound on workers (it moves with
   * `concurrency: "auto"`); `parked` runs as the consumer starts to wait (the
   * engine may grow its window then).
   */
  constructor(
    private readonly window: Window,
    private readonly intake: { readonly ended: boolean },
    private readonly workers: { readonly concurrency: number },
    private readonly parked: () => void
  ) {}

  /** Every action was taken from upstream and handed over: the consumer then ends the run. */
  get ended(): boolean {
    return this.intake.ended && this.window.admitted === 0
  }

  /** The window is about to stop the workers: fewer free places than workers (what the consumer has yet to take counts against it). */
  private get roomLow(): boolean {
    return this.window.size - this.window.admitted < this.workers.concurrency
  }

  /** `Outlet`: a result leaves in order. */
  release(task: Task<A, B>, at: number): void {
    this.put(task.output as B)
    this.metrics?.released(task.finishedAt, at)
  }

  /** The next result in order: for the consumer to take, or handed to the collector now. */
  put(value: B): void {
    const collector = this.collector
    if (collector === undefined) {
      this.output.push(value)
      return
    }
    collector.keep?.(value)
    this.window.handedOver(1)
    this.metrics?.handed(1)
  }

  /** `Outlet`: the order waits for `head`. */
  waitsFor(head: Task<A, B>): void {
    if (head.state === FAILED) this.terminal = head.cause
    else this.hedger?.becameHead(head)
  }

  /** Takes every result released so far (for the consumer). */
  take(): Array<B> {
    const out = this.output
    this.output = []
    if (this.metrics !== undefined) {
      this.metrics.handed(out.length)
      this.metrics.yielding()
    }
    return out
  }

  /**
   * A worker gives up the thread with `next`: the consumer, if it waits,
   * is woken once for every result the step filed, not once per result. It
   * may run at once (effect 4 runs it inside this call): the step is over.
   */
  leave<X>(next: X): X {
    if (this.ready) this.resume(Effect.void)
    return next
  }

  /** Whether the consumer waits for a result. */
  get waiting(): boolean {
    return this.consumer !== undefined
  }

  /** The consumer waits until it is woken. */
  readonly await: Effect.Effect<void> = runtime.withFiber((fiber) =>
    runtime.async<void>((resume) => {
      this.consumer = resume
      this.consumerFiber = fiber
      this.parked()
      // What was released, or ended the run, while the consumer was on its way
      // here (its fiber may yield after `pull` looked) found no one to wake.
      if (this.ready) this.resume(Effect.void)
      return this.forget
    })
  )

  private readonly forget = Effect.sync(() => {
    this.consumer = undefined
    this.consumerFiber = undefined
  })

  /** The consumer, woken by `wake`, runs once its waker yields (`runtime.afterResumer`). */
  private readonly resumed = runtime.afterResumer(Effect.void)

  /** Wakes the consumer whatever it holds: upstream ended, or the run fails. */
  wake(): void {
    this.resume(this.resumed)
  }

  private resume(effect: Effect.Effect<void>): void {
    const consumer = this.consumer
    if (consumer !== undefined) {
      this.consumer = undefined
      this.consumerFiber = undefined
      consumer(effect)
    }
  }

  /** Whether the consumer waits and has something to take (results, or the failure), or the run is over. */
  private get ready(): boolean {
    return this.consumer !== undefined &&
      (this.output.length > 0 || this.terminal !== undefined || this.ended)
  }

  /**
   * A result was released, or the run may be over: wakes the consumer if it
   * is `ready`. At once (effect 4 runs it inside this call, effect 3
   * schedules it) for a failure, for `Ordered.forEach`'s caller, when the
   * window runs short of room, or when `concurrency` results wait in an
   * unbounded window; else on its scheduler's next turn
   * (`runtime.onNextTurn`: once the promise callbacks queued so far have
   * run), so that it takes what is released meanwhile in one pull. Run at
   * once every time, it would take one result per pull; left for that turn
   * regardless, it would find a full window and parked workers, woken again
   * for every window's worth (a third of a park per action, window 300), and
   * in an unbounded window it would wait as long as one worker's actions
   * keep completing through promises already resolved. With `window` equal
   * to `concurrency`, or `concurrency: "unbounded"`, room is always low:
   * each result wakes it, which beats parking every worker.
   * Whether it woke the consumer now.
   */
  wakeIfReady(): boolean {
    if (!this.ready) return false
    if (
      this.terminal !== undefined || this.collector !== undefined || this.roomLow ||
      (this.window.size === Infinity && this.output.length >= this.workers.concurrency)
    ) {
      this.resume(Effect.void)
      return true
    }
    if (!this.wakeScheduled) {
      this.wakeScheduled = true
      runtime.onNextTurn(this.consumerFiber!, this.scheduledWake)
    }
    return false
  }

  /**
   * A worker is about to wait on its action: wakes the consumer for the
   * results its step released. A failure and the run's end wake it where
   * they happen, and a collector takes results as they are released, so
   * only results in `output` can be waiting for this wake. Whether it woke
   * the consumer now (see `wakeIfReady`).
   */
  wakeForReleased(): boolean {
    return this.output.length > 0 && this.wakeIfReady()
  }

  private readonly scheduledWake = (): void => {
    this.wakeScheduled = false
    if (this.ready) this.resume(Effect.void)
  }
}

import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import { Admission } from "./admission.ts"
import { ActionTimeoutError } from "../errors.ts"
import { type ChildLifetime, Children } from "./children.ts"
import { Deadlines } from "./deadlines.ts"
import { Handoff } from "./handoff.ts"
import { type HedgeHost, Hedger } from "./hedge.ts"
import { PipelineMetrics } from "./metrics.ts"
import type { ResolvedOptions } from "./options.ts"
import { makeOrdering, type Ordering } from "./ordering.ts"
import * as runtime from "./runtime.ts"
import { Intake, type Source } from "./source.ts"
import { DONE, FAILED, RUNNING, type Task } from "./task.ts"
import * as V from "./validate.ts"
import { Window } from "./window.ts"
import { type Worker, WorkerPool } from "./workerPool.ts"

export { iterableSource, streamSource } from "./source.ts"

/**
 * The engine behind every operator and every order: it admits actions from
 * upstream into the window, runs them on worker fibers, and hands results to
 * the consumer. What varies is each in a module of its own, behind a narrow
 * interface: the order and key lanes (`ordering.ts`), hedging (`hedge.ts`),
 * `timeout` (`deadlines.ts`), `window: "auto"` (`autoWindow.ts`), metrics
 * (`metrics.ts`) and the lifetime of fibers that actions fork (`children.ts`).
 *
 * Shape: worker fibers, recruited as work appears up to `concurrency`, take
 * actions from upstream, run them inline (no fiber per action) and file each
 * result with the order; the consumer takes every result the order has
 * released, as one chunk per pull. Coordination is plain synchronous state
 * on one JS thread; fibers only park (`runtime.async`) when there is nothing
 * to do, and are woken one at a time, each woken worker waking the next
 * while work remains.
 *
 * Admission (`admission.ts`): what may start next, inputs numbered in input
 * order, and the bounds a failure sets.
 *
 * Window (`window.ts`): `admitted` counts actions taken from upstream and not
 * yet handed to the consumer; nothing is admitted while it equals the
 * window's size, which an `AutoWindow` moves with `window: "auto"`. Concurrency: at most
 * `concurrency` workers; with `concurrency: "auto"` a `ConcurrencyLimit`
 * (`concurrencyLimit.ts`) moves that bound from each attempt's own latency.
 *
 * @internal
 */
export class Engine<A, B, E, R> implements HedgeHost<A, B, R> {
  private readonly intake: Intake<A, R>
  private readonly window: Window
  private readonly admission: Admission<A, B>
  private readonly ordering: Ordering<A, B>
  private readonly children: Children<R>
  private hedger: Hedger<A, B, R> | undefined
  private deadlines: Deadlines<Worker<A, B>, R> | undefined
  /** With `name`: what the run records. */
  private metrics: PipelineMetrics | undefined
  /** With `name`, `hedge`, `timeout` or `concurrency: "auto"`: the clock actions are timed with. */
  private clock: runtime.ClockReader | undefined
  private readonly handoff: Handoff<A, B, R>
  private readonly pool: WorkerPool<A, B, R>
  private interruptor: runtime.InterruptorId | undefined
  /**
   * No hedge, `concurrency: "auto"`, nor a span per action (no `name`, or tracing off): nothing needs an action's
   * `Task` but the order and its key, so an action that succeeds at once while neither waits for anything skips it
   * (`releaseDirect`); `untracked`, also without a key: one yet to complete, too (`Admission.startUntracked`).
   * Settled as the run starts, when tracing is known.
   */
  private direct = false
  private untracked = false

  constructor(
    private readonly source: Source<A, unknown, R>,
    private readonly f: (a: A, index: number) => Effect.Effect<B, unknown, R>,
    private readonly options: ResolvedOptions<A>,
    lifetime: ChildLifetime
  ) {
    this.intake = new Intake(source)
    this.window = new Window(options.window, options.maxWindow)
    this.pool = new WorkerPool(options.concurrency, options.limit, () => this.recruit())
    this.ordering = makeOrdering(options)
    this.children = new Children(lifetime, this.workerLoop)
    this.handoff = new Handoff(this.window, this.intake, this.pool, () => {
      if (this.admission.growWindow(this.pool.idle)) this.wakeForWork()
    })
    this.admission = new Admission(this.intake, this.window, this.ordering, this.handoff, (task, cause) => {
      task.finishedAt = this.clock?.millis() ?? 0
      this.fail(task, cause)
    })
  }

  /** Before `start`: each result goes to `keep` (or nowhere) as it is released; `pull` then only waits for the end. */
  collect(keep: ((value: B) => void) | undefined): void {
    this.handoff.collector = { keep }
  }

  /** `HedgeHost`: only actions before this index may still start. */
  get startLimit(): number {
    return this.admission.startLimit
  }

  /** Forks the first worker into the scope, whose closing interrupts every worker; the others are recruited as work appears. */
  readonly start: Effect.Effect<void, never, R | Scope.Scope> = Effect.flatMap(Effect.scope, (scope) => {
    this.pool.scope = scope
    // Finalizers run in reverse: the workers stop before the source closes, and the metrics close last.
    return this.startPolicies.pipe(
      runtime.zipRight(Scope.addFinalizer(scope, this.source.close)),
      runtime.zipRight(this.children.establish(runtime.zipRight(this.startWatchers, Effect.suspend(() => {
        this.pool.worker = this.children.worker
        return this.pool.spawn(1)
      }))))
    )
  })

  private readonly startPolicies: Effect.Effect<void> = runtime.withFiber((fiber) => {
    const { hedge, name, timeout } = this.options
    if ((name ?? timeout ?? hedge ?? this.pool.limiter) !== undefined) this.clock = runtime.clockOf(fiber)
    const metrics = name === undefined ? undefined
      : this.metrics = this.handoff.metrics = this.admission.metrics = new PipelineMetrics(name, fiber, this.clock!, this.pool.limiter)
    this.direct = hedge === undefined && this.pool.limiter === undefined && metrics?.tracing !== true
    this.untracked = this.direct && this.options.key === undefined
    if (metrics === undefined) return Effect.void
    // Runs last: the workers have stopped; the actions they were running end as interrupted.
    return Scope.addFinalizer(this.pool.scope!, Effect.sync(() => metrics.close(this.pool.workers, this.interruptor!)))
  })

  /** Forks the fibers that watch running actions: hedging's, and the deadlines' (`timeout`). */
  private readonly startWatchers: Effect.Effect<void, never, R> = Effect.suspend(() => {
    const { hedge, timeout } = this.options
    if (hedge !== undefined) this.hedger = this.handoff.hedger = new Hedger(hedge, this.clock!, this.ordering, this)
    if (timeout !== undefined) this.deadlines = this.pool.deadlines = new Deadlines(timeout, this.clock!, this.timedOut)
    const loops = [this.hedger?.loop, this.deadlines?.loop].filter((loop) => loop !== undefined)
    return Effect.forEach(loops, (loop) => this.pool.fork(loop), { discard: true })
  })

  /**
   * A worker: loops over steps while there is work. An action that goes
   * through the runtime is the step's own effect, so that its value comes
   * back to `step` with nothing allocated per action; a failure ends the
   * loop, is filed, and the loop starts again.
   */
  private readonly workerLoop: Effect.Effect<void, never, R> = runtime.withFiber((fiber) => {
    this.interruptor ??= runtime.idOf(fiber)
    const worker = this.pool.started(fiber)
    runtime.onUnwoundFailure(fiber, (cause) => {
      if (worker.awaiting) Effect.runFork(this.abandoned(worker, cause) ?? Effect.void)
    })
    const loop: Effect.Effect<void, unknown, R> = Effect.whileLoop({
      while: () => worker.ending !== undefined || (this.hasWork() && !this.pool.overLimit(this.intake.pulling)) || stops(this.metrics),
      body: () => this.step(worker),
      step: (output) => {
        if (worker.awaiting) this.exited(worker, undefined, output as B)
      }
    })
    // An interrupted worker skips `onFailure`: interruption is not a result.
    const run: Effect.Effect<void, never, R> = Effect.matchCauseEffect(loop, {
      onFailure: (cause) => {
        if (!worker.awaiting) return Effect.die(Cause.squash(cause))
        this.exited(worker, cause, undefined)
        return run
      },
      onSuccess: () =>
        Effect.sync(() => {
          this.pool.forget(worker)
          // One that left over the `concurrency: "auto"` limit hands the work it was woken for to another.
          if (this.pool.limiter !== undefined) this.wakeForWork()
        })
    })
    return run
  })

  // --------------------------------------------------------------- consumer

  /**
   * The consumer's side: every result released so far (never empty), or `undefined` once every action has been emitted.
   * After a failure it first hands over what was released, then interrupts the workers, waits for their finalizers
   * and fails with the failure's cause.
   */
  readonly pull: Effect.Effect<Array<B> | undefined, E, R> = Effect.suspend(() => {
    const handoff = this.handoff
    if (handoff.output.length > 0) {
      const out = handoff.take()
      this.window.handedOver(out.length)
      const recruit = this.admission.admitting ? this.pool.recruitForConsumer(this.startableWork()) : undefined
      return recruit === undefined ? Effect.succeed(out) : Effect.as(recruit, out)
    }
    if (handoff.terminal !== undefined) return runtime.zipRight(this.pool.interruptAll, Effect.failCause(handoff.terminal as Cause.Cause<E>))
    if (handoff.ended) return Effect.succeed(undefined)
    return runtime.zipRight(handoff.await, this.pull)
  })

  // ---------------------------------------------------------------- workers

  /** Whether a worker still has a reason to loop. */
  private hasWork(): boolean {
    return this.ordering.freed.length > 0 || (this.hedger !== undefined && this.hedger.waiting > 0) ||
      (this.admission.admitting && !this.intake.exhausted)
  }

  /** Starts the next actions; the metrics hear that the worker gives up the thread (`yielding`). */
  private step(worker: Worker<A, B>): Effect.Effect<unknown, unknown, R> {
    const ending = worker.ending
    if (ending !== undefined) {
      worker.ending = undefined
      return ending
    }
    const next = this.nextStep(worker)
    this.metrics?.yielding()
    return next
  }

  /**
   * Starts the next action. One that is already complete when `f` returns
   * it (`Effect.succeed`, `Effect.fail`, … are `Exit`s) is filed right here,
   * and the next is taken, with no trip through the runtime: instant actions
   * cost what a loop iteration costs. After `SYNC_BUDGET` of them in a row
   * the worker yields, so that it never holds the thread for long.
   */
  private nextStep(worker: Worker<A, B>): Effect.Effect<unknown, unknown, R> {
    // Timed runs read the clock once per step (none when the last success was filed in this run; again after a consumer
    // that ran at once), not per action: the actions filed within the step complete in that run, within the first bucket.
    let now = worker.filedAt
    worker.filedAt = undefined
    for (let budget = SYNC_BUDGET; budget > 0; budget--) {
      const copy = this.hedger?.takeCopy()
      if (copy !== undefined) {
        // The copy is this worker's before a consumer that runs at once could look at its action.
        const run = this.runCopy(worker, copy)
        this.handoff.wakeIfReady()
        return run
      }
      let action: Effect.Effect<B, unknown, R> | undefined
      let task: Task<A, B> | undefined
      if (this.direct && this.admission.canAdmit() && this.ordering.freed.length === 0) {
        const input = this.intake.next()
        const index = this.admission.nextIndex
        if (this.admission.releasesAtOnce(input)) action = invoke(this.f, input, index)
        if (action !== undefined && runtime.isExit(action) && action._tag === "Success") {
          this.admission.releaseDirect(action.value)
          this.metrics?.instant()
          if (!this.hasWork()) return this.handoff.leave(Effect.void)
          continue
        }
        if (action !== undefined && this.untracked && !runtime.isExit(action)) {
          this.admission.startUntracked(input, worker)
          if (this.handoff.wakeForReleased()) now = undefined // it ran at once (effect 4), before the action starts
          const startedAt = this.admission.untrackedStartedAt = now ?? this.clock?.millis() ?? 0
          return this.run(worker, undefined, action, startedAt)
        }
        if ((task = this.admission.admit(input)) === undefined) continue // its key is busy, or threw: it waits, or failed
      } else {
        task = this.admission.take()
        if (task === undefined) {
          // A consumer that runs as it is woken (effect 4) may free room in the window: look again, after a new reading.
          if (!this.handoff.wakeIfReady()) return this.idle()
          now = undefined
          continue
        }
      }
      task.state = RUNNING
      worker.task = task
      action ??= invoke(this.f, task.input, task.index)
      const exit = runtime.isExit(action) ? action : undefined
      // The consumer woken for what the step released runs at once on effect 4: the action starts after it.
      if (exit === undefined && this.handoff.wakeForReleased()) now = undefined
      now ??= this.clock?.millis() ?? 0
      task.startedAt = now
      if (this.pool.limiter !== undefined) this.pool.attemptStarted(worker, now)
      if (this.metrics !== undefined) task.span = this.metrics.started(task.index, task.lane?.key)
      if (exit === undefined) {
        this.hedger?.started(task)
        return this.run(worker, task.span, action, now)
      }
      if (exit._tag === "Success") this.attemptEnded(worker, undefined, exit.value as B, now)
      else this.attemptEnded(worker, exit.cause, undefined, now)
      if (!this.hasWork()) return this.handoff.leave(Effect.void)
    }
    return this.handoff.leave(runtime.yieldNow)
  }

  /** Nothing to start: pull upstream if it is this worker's turn, grow an automatic window, else park. */
  private idle(): Effect.Effect<void, never, R> {
    if (
      this.admission.admitting && !this.intake.pulling && !this.intake.ended && this.intake.buffered === 0 &&
      this.window.admitted < this.window.size
    ) return this.pullUpstream()
    if (this.admission.growWindow(1 + this.pool.idle)) return Effect.void
    return this.pool.park
  }

  /** Runs on `worker` an attempt, yet to complete, of the action that started at `startedAt`, in `span`. */
  private run(worker: Worker<A, B>, span: Tracer.Span | undefined, action: Effect.Effect<B, unknown, R>,
    startedAt: number): Effect.Effect<unknown, unknown, R> {
    // Hand the rest of the work to other workers before this one waits (or once it still waits on the next turn).
    const recruit = this.pool.looks ? this.pool.askLook(worker) : this.recruit()
    if (span !== undefined) action = Effect.withParentSpan(action, span)
    this.deadlines?.watch(worker, startedAt)
    // Its value, or its failure, comes back to the worker loop.
    worker.awaiting = true
    return recruit === undefined ? action : runtime.zipRight(recruit, action)
  }

  /** Starts the hedged copy of `task` on `worker`: `timeout` covers both attempts, from the first one's start. */
  private runCopy(worker: Worker<A, B>, task: Task<A, B>): Effect.Effect<unknown, unknown, R> {
    worker.task = task
    if (this.pool.limiter !== undefined) this.pool.attemptStarted(worker, this.clock!.millis())
    return this.run(worker, task.span, this.hedger!.asCopy(invoke(this.f, task.input, task.index)), task.startedAt)
  }

  /** `Deadlines`: `worker`'s attempt is past its deadline: once it has ended, the action fails; a worker takes its place. */
  private readonly timedOut = (worker: Worker<A, B>): Effect.Effect<void, never, R> => {
    if (this.admission.runsUntracked(worker)) this.admission.track()
    const cause = Cause.fail(new ActionTimeoutError({ index: worker.task!.index, timeout: this.options.timeout! }))
    return this.pool.expire(worker, () =>
      runtime.zipRight(this.abandoned(worker, cause) ?? Effect.void, Effect.suspend(() => this.recruit() ?? Effect.void)))
  }

  /**
   * An action that went through the runtime ended on `worker`. What must end with it ends first, as the worker's next
   * step: the losing attempt of a hedged action, then the fibers it forked (`children: "action"`); then its result is
   * filed. One that ran untracked and succeeded with nothing to end leaves at once.
   */
  private exited(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined): void {
    worker.awaiting = false
    this.deadlines?.unwatch(worker)
    // Interrupted meanwhile (a failure cut it off): interruption is not a result.
    if (worker.task === undefined && !this.admission.runsUntracked(worker)) return
    const children = this.children.end(worker.fiber)
    if (worker.task === undefined) {
      // A success with nothing to wait for leaves at once; else the action takes its place in the order first.
      if (cause === undefined && children === undefined) return this.admission.releaseUntracked(output as B)
      this.admission.track()
    }
    const task = worker.task!
    const loser = task.copy === undefined ? undefined : this.hedger!.stopLoser(task, worker, cause)
    const ending = loser === undefined ? children : children === undefined ? loser : runtime.zipRight(loser, children)
    if (ending === undefined) this.fileExited(worker, cause, output, cause === undefined)
    else worker.ending = runtime.zipRight(ending, Effect.sync(() => this.fileExited(worker, cause, output, false)))
  }

  /**
   * `worker` ended in its action without unwinding its loop (it died, `runtime.onUnwoundFailure`, or timed out): the
   * action failed with `cause`, and its place is free. Returns what must end before that is filed, uninterruptible: the
   * action is filed, its span ended, even as the run closes (which waits for what it stops anyway). */
  private abandoned(worker: Worker<A, B>, cause: Cause.Cause<unknown>): Effect.Effect<void> | undefined {
    this.pool.forget(worker)
    worker.ending = undefined
    this.exited(worker, cause, undefined)
    return worker.ending === undefined ? undefined : Effect.uninterruptible(worker.ending)
  }

  /**
   * Files what came back through the runtime. `inLoop` (from the loop's `step`): the loop's `body` or end, in this
   * synchronous run, tells the metrics it gives up the thread, and takes this reading unless a consumer was woken (it may run at once).
   */
  private fileExited(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined, inLoop: boolean): void {
    const now = this.clock?.millis() ?? 0
    this.attemptEnded(worker, cause, output, now)
    if (!inLoop) this.metrics?.yielding()
    if (!this.handoff.wakeIfReady() && inLoop) worker.filedAt = now
  }

  /** The attempt `worker` ran ended at `now`, with `cause` if it failed, else with `output`: files the action's result. */
  private attemptEnded(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined, now: number): void {
    const task = worker.task!
    worker.task = undefined
    if (this.pool.limiter !== undefined) this.pool.attemptEnded(worker, task, cause, now)
    if (task.copy !== undefined) {
      const final = this.hedger!.attemptEnded(task, cause)
      // A failed attempt while the other may still succeed decides nothing.
      if (cause !== undefined && final === undefined) return
      cause = final
    }
    this.hedger?.record(now - task.startedAt)
    if (this.metrics !== undefined) {
      this.metrics.ended(task.startedAt, now, task.span, cause, output)
      task.finishedAt = now
    }
    if (cause !== undefined) return this.fail(task, cause)
    task.state = DONE
    task.output = output
    // The consumer is woken as the worker leaves its step (`leave`), or once the result is filed (`fileExited`).
    this.ordering.complete(task, this.handoff)
  }

  /** `HedgeHost`: stops the worker running the losing attempt of `task`. */
  stopOtherAttempt(task: Task<A, B>, winner: unknown): Effect.Effect<void> | undefined {
    const loser = this.pool.runnerOf(task, winner)
    return loser === undefined ? undefined : this.pool.retire(loser, this.clock!)
  }

  private pullUpstream(): Effect.Effect<void, never, R> {
    return Effect.matchCause(this.intake.pull(this.window.size - this.window.admitted), {
      // After an action's failure (total order) that failure comes first:
      // upstream's, which lies after every admitted action, is moot.
      onFailure: (cause) => this.admission.admitting ? this.abort(cause) : undefined,
      onSuccess: (more) => {
        if (more) return void this.wakeForWork()
        this.pool.wakeAll()
        if (this.window.admitted === 0) this.handoff.wake()
      }
    })
  }

  /** How many more actions could start now: those freed by their key, the hedged copies, and what the window admits. */
  private startableWork(): number {
    return this.ordering.freed.length + (this.hedger?.waiting ?? 0) + this.admission.startable()
  }

  /** Wakes parked workers for the work no worker on its way will take; returns how much is left. */
  private wakeForWork(): number {
    return this.pool.wake(this.startableWork())
  }

  /** `HedgeHost`: workers for the work that remains (parked ones first, then new fibers); none to count it for when all are busy. */
  recruit(): Effect.Effect<void, never, R> | undefined {
    return this.pool.saturated ? undefined : this.pool.recruit(this.startableWork())
  }

  // ---------------------------------------------------------------- failure

  /**
   * An action failed. In total order its failure takes its place in the
   * order: earlier actions still run and are emitted, later ones are
   * interrupted and none starts. In the other orders it ends the run now.
   */
  private fail(task: Task<A, B>, cause: Cause.Cause<unknown>): void {
    task.state = FAILED
    task.cause = cause
    if (this.options.order !== "total") return this.abort(cause)
    if (!this.admission.stopAfter(task.index)) return
    this.pool.interruptAfter(task.index, this.interruptor!, this.metrics)
    this.pool.wakeAll()
    this.ordering.failed(task, this.handoff)
    this.handoff.wakeIfReady()
  }

  /** Ends the run with `cause` once the released output is handed over. */
  private abort(cause: Cause.Cause<unknown>): void {
    if (this.handoff.terminal !== undefined) return
    this.handoff.terminal = cause
    this.admission.stopAll()
    this.pool.interruptAfter(-1, this.interruptor!, this.metrics)
    this.pool.wakeAll()
    this.handoff.wake()
  }
}

/** A worker loop's `while` as its worker stops: the metrics hear that it gives up the thread. */
const stops = (metrics: PipelineMetrics | undefined): false => {
  metrics?.yielding()
  return false
}

/** Most already-complete actions one worker files in a row before it yields. */
const SYNC_BUDGET = 256

/** Calls `f` for the input at `index`; a throw or a non-Effect becomes a defect. */
const invoke = <A, B, R>(
  f: (a: A, index: number) => Effect.Effect<B, unknown, R>,
  input: A,
  index: number
): Effect.Effect<B, unknown, R> => {
  try {
    const action = f(input, index)
    return runtime.isEffect(action) ? action : Effect.die(V.invalid(`f(input ${index})`, "an Effect", action))
  } catch (defect) {
    return Effect.die(defect)
  }
}

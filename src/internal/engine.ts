import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { constVoid } from "effect/Function"
import * as Scope from "effect/Scope"
import { ActionTimeoutError } from "../errors.ts"
import { AutoWindow } from "./autoWindow.ts"
import { type ChildLifetime, Children } from "./children.ts"
import { type HedgeHost, Hedger } from "./hedge.ts"
import { PipelineMetrics } from "./metrics.ts"
import type { ResolvedOptions } from "./options.ts"
import { makeOrdering, type Ordering, type Outlet } from "./ordering.ts"
import * as runtime from "./runtime.ts"
import type { Source } from "./source.ts"
import { DONE, FAILED, makeTask, RUNNING, type Task } from "./task.ts"
import * as V from "./validate.ts"

export { iterableSource, streamSource } from "./source.ts"

interface Worker<A, B> {
  readonly fiber: runtime.RuntimeFiber<void>
  /** The action this worker runs, if any. */
  task: Task<A, B> | undefined
  /**
   * What `Effect.matchCauseEffect` runs when an action that went through the
   * runtime ends. Built once per worker: no closure is allocated per action.
   */
  readonly onExit: {
    readonly onFailure: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
    readonly onSuccess: (output: B) => Effect.Effect<void>
  }
}

type Resume = (effect: Effect.Effect<void>) => void

/**
 * The engine behind every operator and every order: it admits actions from
 * upstream into the window, runs them on worker fibers, and hands results to
 * the consumer. What varies is each in a module of its own, behind a narrow
 * interface: the order and key lanes (`ordering.ts`), hedging (`hedge.ts`),
 * `window: "auto"` (`autoWindow.ts`), metrics (`metrics.ts`) and the
 * lifetime of fibers that actions fork (`children.ts`).
 *
 * Shape: worker fibers, recruited as work appears up to `concurrency`, take
 * actions from upstream, run them inline (no fiber per action) and file each
 * result with the order; the consumer takes every result the order has
 * released, as one chunk per pull. Coordination is plain synchronous state
 * on one JS thread; fibers only park (`runtime.async`) when there is nothing
 * to do, and are woken one at a time, each woken worker waking the next
 * while work remains.
 *
 * Window: `admitted` counts actions taken from upstream and not yet handed to
 * the consumer; nothing is admitted while it equals `window`, which an
 * `AutoWindow` moves with `window: "auto"`. Concurrency: at most
 * `concurrency` workers; `resize` moves that bound during a run.
 *
 * @internal
 */
export class Engine<A, B, E, R> implements Outlet<A, B>, HedgeHost<A, B, R> {
  private input: ReadonlyArray<A> = []
  private inputOffset = 0
  private upstreamDone = false
  private pulling = false
  private nextIndex = 0
  /** Taken from upstream, not yet handed to the consumer: bounded by `window`. */
  private admitted = 0
  private window: number
  /** The most workers at once: `options.concurrency`, unless `resize` moved it. */
  private concurrency: number
  /** False once a failure is known: nothing more is taken from upstream. */
  private admitting = true
  /** Only actions before this index may still start (total order after a failure). */
  startLimit = Infinity
  private readonly ordering: Ordering<A, B>
  private readonly autoWindow: AutoWindow | undefined
  private readonly children: Children<R>
  private hedger: Hedger<A, B, R> | undefined
  /** With `name`: what the run records. */
  private metrics: PipelineMetrics | undefined
  /** With `name` or `hedge`: the clock actions are timed with. */
  private clock: Clock.Clock | undefined
  private output: Array<B> = []
  /** Set when the stream must fail once `output` has been handed over. */
  private terminal: Cause.Cause<unknown> | undefined
  /** Workers that have started, for interrupting the ones running later actions. */
  private readonly workers: Array<Worker<A, B>> = []
  /** Every fiber forked (workers, the hedging watch), started or not. */
  private readonly fibers: Array<runtime.RuntimeFiber<void>> = []
  private scope: Scope.Scope | undefined
  private readonly parked: Array<Resume> = []
  /** Workers woken or forked that have not run yet: each will take one unit of work. */
  private onTheWay = 0
  /** Worker fibers forked or about to be (`fibers` fills in after the fork). */
  private spawned = 0
  private consumer: Resume | undefined
  private interruptor: runtime.InterruptorId | undefined

  constructor(
    private readonly source: Source<A, unknown, R>,
    private readonly f: (a: A, index: number) => Effect.Effect<B, unknown, R>,
    private readonly options: ResolvedOptions<A>,
    lifetime: ChildLifetime
  ) {
    this.window = options.window
    this.concurrency = options.concurrency
    this.ordering = makeOrdering(options)
    this.autoWindow = options.maxWindow === undefined ? undefined : new AutoWindow(options.window, options.maxWindow)
    this.children = new Children(lifetime, this.workerLoop)
  }

  /**
   * Forks the first worker into the scope; closing the scope interrupts every
   * worker. Workers are recruited as work appears, up to `concurrency`: a
   * pool of 1,000 over three actions forks no more than a few fibers.
   */
  readonly start: Effect.Effect<void, never, R | Scope.Scope> = Effect.flatMap(Effect.scope, (scope) => {
    this.scope = scope
    // Finalizers run in reverse: the workers stop before the source closes, and the metrics close last.
    return this.startPolicies.pipe(
      Effect.zipRight(Scope.addFinalizer(scope, this.source.close)),
      Effect.zipRight(this.children.establish(Effect.zipRight(this.startHedger, Effect.suspend(() => this.spawn(1)))))
    )
  })

  private readonly startPolicies: Effect.Effect<void> = runtime.withFiber((fiber) => {
    const name = this.options.name
    if (name !== undefined || this.options.hedge !== undefined) this.clock = runtime.clockOf(fiber)
    if (name === undefined) return Effect.void
    const metrics = this.metrics = new PipelineMetrics(name, fiber, this.clock!)
    // Runs last: the workers have stopped; the actions they were running end as interrupted.
    return Scope.addFinalizer(
      this.scope!,
      Effect.sync(() => {
        for (const worker of this.workers) {
          if (worker.task !== undefined) metrics.interrupted(worker.task.span, this.interruptor!)
        }
        metrics.close()
      })
    )
  })

  private readonly startHedger: Effect.Effect<void, never, R> = Effect.suspend(() => {
    const policy = this.options.hedge
    if (policy === undefined) return Effect.void
    const hedger = this.hedger = new Hedger(policy, this.clock!, this.ordering, this, this.options.timeout)
    return this.fork(hedger.loop)
  })

  private fork(effect: Effect.Effect<unknown, never, R>): Effect.Effect<void, never, R> {
    return Effect.asVoid(Effect.tap(Effect.forkIn(effect, this.scope!), (fiber) => {
      this.fibers.push(fiber as runtime.RuntimeFiber<void>)
    }))
  }

  private spawn(count: number): Effect.Effect<void, never, R> {
    this.spawned += count
    this.onTheWay += count
    const fork = this.fork(this.children.worker)
    return count === 1 ? fork : Effect.asVoid(Effect.replicateEffect(fork, count))
  }

  /**
   * The seam for a limit that moves during the run (`concurrency: "auto"`):
   * sets the bound on workers. A higher one recruits at once (the effect);
   * above a lower one, workers leave as they finish their actions.
   */
  resize(concurrency: number): Effect.Effect<void, never, R> {
    this.concurrency = concurrency
    return Effect.suspend(() => this.recruit() ?? Effect.void)
  }

  private readonly workerLoop: Effect.Effect<void, never, R> = runtime.withFiber((fiber) => {
    this.interruptor ??= runtime.idOf(fiber)
    this.onTheWay--
    this.children.enter(fiber)
    const worker: Worker<A, B> = {
      fiber: fiber as runtime.RuntimeFiber<void>,
      task: undefined,
      onExit: {
        onFailure: (cause) => this.exited(worker, cause, undefined),
        onSuccess: (output) => this.exited(worker, undefined, output)
      }
    }
    this.workers.push(worker)
    return Effect.zipRight(
      Effect.whileLoop({
        while: () => this.hasWork() && this.spawned <= this.concurrency,
        body: () => this.step(worker),
        step: constVoid
      }),
      // Its place is free: a hedged copy asked for later may recruit a worker again.
      this.workerDone
    )
  })

  private readonly workerDone = Effect.sync(() => {
    this.spawned--
  })

  // --------------------------------------------------------------- consumer

  /**
   * The consumer's side: every result released so far (never empty), or
   * `undefined` once every action has been emitted. After a failure it first
   * hands over what was released, then interrupts the workers, waits for
   * their finalizers and fails with the failure's cause.
   */
  readonly pull: Effect.Effect<Array<B> | undefined, E> = Effect.suspend(() => {
    const out = this.output
    if (out.length > 0) {
      this.output = []
      if (this.autoWindow !== undefined) this.window = this.autoWindow.handedOver(out.length, this.admitted)
      this.admitted -= out.length
      if (this.metrics !== undefined) {
        this.metrics.handed(out.length)
        this.metrics.flush()
      }
      if (this.admitting) this.wakeForWork()
      return Effect.succeed(out)
    }
    if (this.terminal !== undefined) {
      return Effect.zipRight(this.interruptAll, Effect.failCause(this.terminal as Cause.Cause<E>))
    }
    if (this.upstreamDone && this.admitted === 0) return Effect.succeed(undefined)
    return Effect.zipRight(this.awaitResults, this.pull)
  })

  private readonly awaitResults: Effect.Effect<void> = runtime.async<void>((resume) => {
    this.consumer = resume
    if (this.growWindow(this.parked.length + this.concurrency - this.spawned)) this.wakeForWork()
    return this.forgetConsumer
  })

  private readonly forgetConsumer = Effect.sync(() => {
    this.consumer = undefined
  })

  private readonly interruptAll: Effect.Effect<void> = Effect.suspend(() => Fiber.interruptAll(this.fibers))

  private wakeConsumer(): void {
    const consumer = this.consumer
    if (consumer !== undefined) {
      this.consumer = undefined
      consumer(Effect.void)
    }
  }

  /** `Outlet`: a result leaves in order. */
  release(task: Task<A, B>, at: number): void {
    this.output.push(task.output as B)
    this.metrics?.released(task.finishedAt, at)
  }

  /** `Outlet`: the order waits for `head`. */
  waitsFor(head: Task<A, B>): void {
    if (head.state === FAILED) this.terminal = head.cause
    else this.hedger?.becameHead(head)
  }

  // ---------------------------------------------------------------- workers

  /** Whether a worker still has a reason to loop. */
  private hasWork(): boolean {
    return this.ordering.freed.length > 0 || (this.hedger !== undefined && this.hedger.waiting > 0) ||
      (this.admitting && !(this.upstreamDone && this.inputOffset >= this.input.length))
  }

  /** Starts the next actions; the gauges are brought up to date before the worker gives up the thread. */
  private step(worker: Worker<A, B>): Effect.Effect<void, never, R> {
    const next = this.nextStep(worker)
    this.metrics?.flush()
    return next
  }

  /**
   * Starts the next action. One that is already complete when `f` returns
   * it (`Effect.succeed`, `Effect.fail`, … are `Exit`s) is filed right here,
   * and the next is taken, with no trip through the runtime: instant actions
   * cost what a loop iteration costs. After `SYNC_BUDGET` of them in a row
   * the worker yields, so that it never holds the thread for long.
   */
  private nextStep(worker: Worker<A, B>): Effect.Effect<void, never, R> {
    const clock = this.clock
    // Timed runs read the clock once per action: the end of one is the start of the next.
    let now = clock === undefined ? 0 : clock.unsafeCurrentTimeMillis()
    for (let budget = SYNC_BUDGET; budget > 0; budget--) {
      const copy = this.hedger?.takeCopy()
      if (copy !== undefined) return this.runCopy(worker, copy)
      const task = this.take()
      if (task === undefined) return this.idle()
      task.state = RUNNING
      task.startedAt = now
      worker.task = task
      if (this.metrics !== undefined) task.span = this.metrics.started(task.index, task.lane?.key)
      const action = this.invoke(task)
      if (!Exit.isExit(action)) {
        this.hedger?.started(task)
        return this.run(worker, task, action, this.options.timeout)
      }
      if (clock !== undefined) now = clock.unsafeCurrentTimeMillis()
      if (action._tag === "Success") this.attemptEnded(worker, undefined, action.value as B, now)
      else this.attemptEnded(worker, action.cause, undefined, now)
      if (!this.hasWork()) return Effect.void
    }
    return Effect.yieldNow()
  }

  /** Nothing to start: pull upstream if it is this worker's turn, grow an automatic window, else park. */
  private idle(): Effect.Effect<void, never, R> {
    if (
      this.admitting && !this.pulling && !this.upstreamDone && this.inputOffset >= this.input.length &&
      this.admitted < this.window
    ) return this.pullUpstream()
    if (this.growWindow(1 + this.parked.length + this.concurrency - this.spawned)) return Effect.void
    return this.park
  }

  /**
   * `window: "auto"`: room for `idle` more workers when the full window keeps
   * them from input while the consumer waits for the next result in order.
   */
  private growWindow(idle: number): boolean {
    const auto = this.autoWindow
    if (
      auto === undefined || idle <= 0 || this.consumer === undefined || !this.admitting ||
      this.admitted < this.window || !auto.canGrow || (this.upstreamDone && this.inputOffset >= this.input.length)
    ) return false
    this.window = auto.grow(idle)
    return true
  }

  /** The next action to start: one its key let go, else the next admitted. */
  private take(): Task<A, B> | undefined {
    const freed = this.ordering.freed
    let task = freed.shift()
    while (task !== undefined && task.index >= this.startLimit) task = freed.shift()
    if (task !== undefined) return task
    while (this.admitting && this.admitted < this.window && this.inputOffset < this.input.length) {
      const admitted = this.admit(this.input[this.inputOffset++])
      if (admitted !== undefined) return admitted
    }
    return undefined
  }

  /** Takes one input into the window; returns it if it may start now. */
  private admit(input: A): Task<A, B> | undefined {
    const task = makeTask<A, B>(this.nextIndex++, input)
    this.admitted++
    this.metrics?.admitted()
    try {
      return this.ordering.admit(task) ? task : undefined
    } catch (defect) {
      task.finishedAt = this.clock?.unsafeCurrentTimeMillis() ?? 0
      this.fail(task, Cause.die(defect))
      return undefined
    }
  }

  /** Calls `f` for `task`; a throw or a non-Effect becomes a defect. */
  private invoke(task: Task<A, B>): Effect.Effect<B, unknown, R> {
    try {
      const action = this.f(task.input, task.index)
      return Effect.isEffect(action) ? action : Effect.die(V.invalid(`f(input ${task.index})`, "an Effect", action))
    } catch (defect) {
      return Effect.die(defect)
    }
  }

  /** Runs an action that has yet to complete, under `timeout` if one is given. */
  private run(
    worker: Worker<A, B>,
    task: Task<A, B>,
    action: Effect.Effect<B, unknown, R>,
    timeout: Duration.Duration | undefined
  ): Effect.Effect<void, never, R> {
    // Hand the rest of the work to other workers before this one waits.
    const recruit = this.recruit()
    if (task.span !== undefined) action = Effect.withParentSpan(action, task.span)
    if (timeout !== undefined) {
      // The timeout runs the action on a fiber of its own.
      action = runtime.timeoutFail(this.children.ownFiber(action), {
        duration: timeout,
        onTimeout: () => new ActionTimeoutError({ index: task.index, timeout: this.options.timeout! })
      })
    }
    // An interrupted worker skips these handlers: interruption is not a result.
    const ran = Effect.matchCauseEffect(action, worker.onExit)
    return recruit === undefined ? ran : Effect.zipRight(recruit, ran)
  }

  /** Starts the hedged copy of `task` on `worker`, under what is left of the first attempt's `timeout`. */
  private runCopy(worker: Worker<A, B>, task: Task<A, B>): Effect.Effect<void, never, R> {
    const hedger = this.hedger!
    worker.task = task
    return this.run(worker, task, hedger.asCopy(this.invoke(task)), hedger.copyTimeout(task))
  }

  /**
   * An action that went through the runtime ended on `worker`. What must end
   * with it ends first: the losing attempt of a hedged action, then the
   * fibers it forked (`children: "action"`); then its result is filed.
   */
  private exited(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined): Effect.Effect<void> {
    const task = worker.task
    // Interrupted meanwhile (a failure cut it off): interruption is not a result.
    if (task === undefined) return Effect.void
    const loser = task.copy === undefined ? undefined : this.hedger!.stopLoser(task, worker, cause)
    const children = this.children.end(worker.fiber)
    const ending = loser === undefined ? children : children === undefined ? loser : Effect.zipRight(loser, children)
    if (ending === undefined) {
      this.fileExited(worker, cause, output)
      return Effect.void
    }
    return Effect.zipRight(ending, Effect.sync(() => this.fileExited(worker, cause, output)))
  }

  /** After a trip through the runtime the worker may stop without another step: the gauges are brought up to date here. */
  private fileExited(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined): void {
    this.attemptEnded(worker, cause, output, this.clock?.unsafeCurrentTimeMillis() ?? 0)
    this.metrics?.flush()
  }

  /** The attempt `worker` ran ended at `now`, with `cause` if it failed, else with `output`: files the action's result. */
  private attemptEnded(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined, output: B | undefined, now: number): void {
    const task = worker.task!
    worker.task = undefined
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
    this.ordering.complete(task, this)
    if (this.output.length > 0 || this.terminal !== undefined) this.wakeConsumer()
  }

  /**
   * `HedgeHost`: interrupts the worker running the losing attempt of `task`
   * and waits for it to end (its finalizers run); its place is then free for
   * a new worker, so that no more than `concurrency` actions ever run.
   */
  stopOtherAttempt(task: Task<A, B>, winner: unknown): Effect.Effect<void> | undefined {
    const loser = this.workers.find((worker) => worker !== winner && worker.task === task)
    if (loser === undefined) return undefined
    loser.task = undefined
    loser.fiber.addObserver(() => {
      this.spawned--
      this.workers.splice(this.workers.indexOf(loser), 1)
      this.fibers.splice(this.fibers.indexOf(loser.fiber), 1)
    })
    return Effect.asVoid(Fiber.interrupt(loser.fiber))
  }

  private pullUpstream(): Effect.Effect<void, never, R> {
    this.pulling = true
    return Effect.matchCause(this.source.pull(this.window - this.admitted), {
      onFailure: (cause) => {
        this.pulling = false
        // After an action's failure (total order) that failure comes first:
        // upstream's, which lies after every admitted action, is moot.
        if (this.admitting) this.abort(cause)
      },
      onSuccess: (chunk) => {
        this.pulling = false
        if (chunk === undefined) {
          this.upstreamDone = true
          this.input = []
          this.inputOffset = 0
          this.wakeAll()
          if (this.admitted === 0) this.wakeConsumer()
        } else {
          this.input = chunk
          this.inputOffset = 0
          this.wakeForWork()
        }
      }
    })
  }

  private readonly park: Effect.Effect<void> = runtime.async<void>((resume) => {
    this.parked.push(resume)
    return Effect.sync(() => {
      const at = this.parked.indexOf(resume)
      if (at >= 0) this.parked.splice(at, 1)
    })
  })

  private readonly arrived = Effect.sync(() => {
    this.onTheWay--
  })

  /**
   * How many more actions could start now: those freed by their key and the
   * hedged copies, plus what the window admits of the buffered input (or
   * one worker to pull).
   */
  private startableWork(): number {
    const ready = this.ordering.freed.length + (this.hedger?.waiting ?? 0)
    if (!this.admitting) return ready
    const room = this.window - this.admitted
    const buffered = this.input.length - this.inputOffset
    const more = this.upstreamDone || this.pulling ? buffered : Math.max(buffered, 1)
    return ready + Math.min(room, more)
  }

  /** Wakes parked workers for the work no worker on its way will take; returns how much is left. */
  private wakeForWork(): number {
    let wanted = this.startableWork() - this.onTheWay
    while (wanted > 0 && this.parked.length > 0) {
      this.onTheWay++
      this.parked.pop()!(this.arrived)
      wanted--
    }
    return wanted
  }

  /**
   * `HedgeHost`: workers for the work that remains, all at once rather than
   * one after another: parked ones first, then new fibers while fewer than
   * `concurrency` were forked.
   */
  recruit(): Effect.Effect<void, never, R> | undefined {
    const count = Math.min(this.wakeForWork(), this.concurrency - this.spawned)
    return count > 0 ? this.spawn(count) : undefined
  }

  private wakeAll(): void {
    const parked = this.parked.splice(0)
    for (const resume of parked) resume(Effect.void)
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
    if (task.index >= this.startLimit) return
    this.startLimit = task.index
    this.admitting = false
    this.interruptWorkersAfter(task.index)
    this.wakeAll()
    this.ordering.failed(task, this)
    if (this.output.length > 0 || this.terminal !== undefined) this.wakeConsumer()
  }

  /** Ends the run with `cause` once the released output is handed over. */
  private abort(cause: Cause.Cause<unknown>): void {
    if (this.terminal !== undefined) return
    this.terminal = cause
    this.admitting = false
    this.startLimit = -1
    this.interruptWorkersAfter(-1)
    this.wakeAll()
    this.wakeConsumer()
  }

  /** Interrupts the workers running actions after `index`. */
  private interruptWorkersAfter(index: number): void {
    for (const worker of this.workers) {
      if (worker.task !== undefined && worker.task.index > index) {
        this.metrics?.interrupted(worker.task.span, this.interruptor!)
        worker.task = undefined
        runtime.interruptAsFork(worker.fiber, this.interruptor!)
      }
    }
  }
}

/** Most already-complete actions one worker files in a row before it yields. */
const SYNC_BUDGET = 256

import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { ConcurrencyLimit, type LimitOptions } from "./concurrencyLimit.ts"
import type { Deadlines, Watched } from "./deadlines.ts"
import { isTimeoutOf } from "./hedge.ts"
import type { PipelineMetrics } from "./metrics.ts"
import * as runtime from "./runtime.ts"
import type { Task } from "./task.ts"

/** A worker fiber of the engine, and the action it runs; with `timeout`, its entry in the deadlines' list. @internal */
export interface Worker<A, B> extends Watched {
  readonly fiber: runtime.RuntimeFiber<void>
  /** The action this worker runs, if any. */
  task: Task<A, B> | undefined
  /** Whether the worker's step is an action whose value or failure is its result. */
  awaiting: boolean
  /** What must end before the result of the action that just ended is filed; the worker's next step. */
  ending: Effect.Effect<void> | undefined
  /** With `concurrency: "auto"`: when the attempt it runs started (a copy starts after its action). */
  startedAt: number
  /**
   * With a clock: the reading its last success was filed at, which its next
   * step takes as its own (`Engine.nextStep`): one clock read per action
   * through the runtime, not two. Only a success filed from the worker
   * loop's `step` sets it, as that loop's `body` follows in the same
   * synchronous run (`Engine.fileExited`, `Admission.releaseUntracked`).
   */
  filedAt: number | undefined
  /** With `looks`: the number of the attempt it runs, counted as attempts start (`askLook`). */
  attempt: number
}

type Resume = (effect: Effect.Effect<void>) => void

/**
 * The engine's fibers: workers forked as work appears, up to `concurrency`
 * (a pool of 1,000 over three actions forks no more than a few), parked when
 * there is nothing to do and woken one unit of work at a time. How much work
 * there is, the engine says; the pool only counts fibers.
 *
 * With `concurrency: "auto"`, a `ConcurrencyLimit` moves the bound: it is
 * told when each attempt starts and ends, and its limit is the bound. Above a
 * lower one, workers leave as they finish their actions; a higher one
 * recruits at the next action that waits.
 *
 * @internal
 */
export class WorkerPool<A, B, R> {
  /** The most workers at once: `options.concurrency`, or the limiter's limit. */
  concurrency: number
  /** With `concurrency: "auto"`: the bound on workers, moved by the attempts' latency. */
  readonly limiter: ConcurrencyLimit | undefined
  /** Worker fibers forked or about to be, and not ended (`fibers` fills in after the fork). */
  spawned = 0
  /** Workers woken or forked that have not run yet: each will take one unit of work. */
  private onTheWay = 0
  private readonly parked: Array<Resume> = []
  /** Workers that have started, for interrupting the ones running later actions. */
  readonly workers: Array<Worker<A, B>> = []
  /** Every fiber forked (workers, the hedging watch), started or not: closing the run interrupts them. */
  private readonly fibers: Array<runtime.RuntimeFiber<void>> = []
  /** Set by `Engine.start`. */
  scope: Scope.Scope | undefined
  /** The worker loop as every worker runs it (see `Children.worker`). */
  worker: Effect.Effect<void, never, R> | undefined
  /** With `timeout`: the running attempts' deadlines, which a worker stopped here leaves. */
  deadlines: Deadlines<Worker<A, B>, R> | undefined
  /** Whether workers are recruited by a look on the run's next turn (`settleLooks`), asked for with `askLook`. */
  looks = false
  /** Whether `looks` is settled, on the scheduler of the first worker to start. */
  private looksSettled = false
  /** The loop of the fiber that looks, forked when first asked (`startRecruiter`). */
  private recruiter: Effect.Effect<never, never, R> | undefined
  /** Whether it was forked: a run whose actions never wait forks none. */
  private recruiterStarted = false
  /** A look is on its way: the recruiter was asked since its last one. */
  private lookAsked = false
  /** Attempts started so far (`Worker.attempt`). */
  private attempts = 0
  /** The attempts started when the look on its way was asked for: the ones it may recruit for. */
  private attemptsAtAsk = 0
  /** Resumes the recruiter while it waits to be asked. */
  private lookWaiter: Resume | undefined

  /** `recruitForWork`: the engine's recruit, for the work that remains, which a look calls (`settleLooks`). */
  constructor(
    concurrency: number,
    limit: LimitOptions | undefined,
    private readonly recruitForWork: () => Effect.Effect<void, never, R> | undefined
  ) {
    this.limiter = limit === undefined ? undefined : new ConcurrencyLimit(limit)
    this.concurrency = this.limiter?.limit ?? concurrency
  }
  /**
   * Whether a worker must leave, the `concurrency: "auto"` limit having fallen. One waiting on upstream
   * (`pulling`) does not count: else all others could leave, stranding the work their actions freed.
   */
  overLimit(pulling: boolean): boolean {
    return this.spawned - (pulling ? 1 : 0) > this.concurrency
  }


  /** With `limiter`: `worker` starts an attempt at `now`. */
  attemptStarted(worker: Worker<A, B>, now: number): void {
    worker.startedAt = now
    this.limiter!.started(now)
    this.concurrency = this.limiter!.limit
  }

  /**
   * With `limiter`: the attempt `worker` ran on `task` ended at `now`, failed
   * with `cause` if given. A failed attempt backs the limit off only when it
   * timed out (an overload); another failure says nothing of load.
   */
  attemptEnded(worker: Worker<A, B>, task: Task<A, B>, cause: Cause.Cause<unknown> | undefined, now: number): void {
    const limiter = this.limiter!
    if (cause === undefined) limiter.finished(worker.startedAt, now)
    else limiter.dropped(worker.startedAt, now, isTimeoutOf(task, cause))
    this.concurrency = limiter.limit
  }

  /** Forks `effect` into the run's scope. */
  fork(effect: Effect.Effect<unknown, never, R>): Effect.Effect<void, never, R> {
    return Effect.map(Effect.forkIn(effect, this.scope!), (fiber) => {
      this.fibers.push(fiber as runtime.RuntimeFiber<void>)
    })
  }

  spawn(count: number): Effect.Effect<void, never, R> {
    this.spawned += count
    this.onTheWay += count
    const fork = this.fork(this.worker!)
    return count === 1 ? fork : Effect.asVoid(Effect.replicateEffect(fork, count))
  }

  /** A forked worker starts on `fiber`. */
  started(fiber: runtime.RuntimeFiber<unknown, unknown>): Worker<A, B> {
    if (!this.looksSettled) this.settleLooks(fiber)
    const worker: Worker<A, B> = {
      fiber: fiber as runtime.RuntimeFiber<void>,
      task: undefined,
      awaiting: false,
      ending: undefined,
      startedAt: 0,
      filedAt: undefined,
      attempt: 0,
      due: undefined,
      earlier: undefined,
      later: undefined
    }
    this.onTheWay--
    this.workers.push(worker)
    return worker
  }

  /** No worker could take more work: none is parked, and the bound lets no more fork. */
  get saturated(): boolean {
    return this.parked.length === 0 && this.spawned >= this.concurrency
  }

  /** Workers that could take work now: the parked ones, and those the bound still lets fork. */
  get idle(): number {
    return this.parked.length + this.concurrency - this.spawned
  }

  readonly park: Effect.Effect<void> = runtime.async<void>((resume) => {
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
   * What a worker the consumer wakes runs: it arrives once the consumer yields, as effect 3 schedules it, so
   * that the consumer hands its chunk downstream before the woken workers take more from upstream (on effect 4
   * they would run first, on the consumer's stack, and a full window more would be taken before the chunk is).
   */
  readonly arrivedAfterConsumer: Effect.Effect<void> = runtime.afterResumer(this.arrived)

  /**
   * Wakes parked workers for the `work` no worker on its way will take; returns how much is left. Each runs
   * `arrival` first (`arrivedAfterConsumer` when the consumer wakes them).
   */
  wake(work: number, arrival: Effect.Effect<void> = this.arrived): number {
    let wanted = work - this.onTheWay
    while (wanted > 0 && this.parked.length > 0) {
      this.onTheWay++
      this.parked.pop()!(arrival)
      wanted--
    }
    return wanted
  }

  /**
   * Workers for `work`, all at once rather than one after another: parked
   * ones first (running `arrival` first), then new fibers while fewer than
   * `concurrency` were forked.
   *
   * Recruited as an action suspends (`Engine.run`), or by a look on the
   * run's next turn (`settleLooks`).
   */
  recruit(work: number, arrival?: Effect.Effect<void>): Effect.Effect<void, never, R> | undefined {
    const count = Math.min(this.wake(work, arrival), this.concurrency - this.spawned)
    return count > 0 ? this.spawn(count) : undefined
  }

  /**
   * One worker for the `work` room the consumer freed (parked, or a new one if a hedge's loser left its place
   * free), arriving after the consumer yields: it recruits the others as its actions suspend (`Engine.run`).
   * Instant actions it runs itself, rather than a worker woken per place freed, each resumed to find the room
   * taken (a third of a fiber resume per action, on effect 3, for a window of 300). With `looks` and no worker
   * parked, a look instead, if a worker waits on an attempt.
   */
  recruitForConsumer(work: number): Effect.Effect<void, never, R> | undefined {
    // Rather than fork one while others run (`looks`): a running worker takes the room, or a look recruits if it waits.
    if (this.looks && this.parked.length === 0 && this.spawned > 0) {
      return this.waiting() ? this.askLook(undefined) : undefined
    }
    return this.recruit(Math.min(1, work), this.arrivedAfterConsumer)
  }

  /**
   * Where a promise callback resumes its fiber before the fiber's next turn
   * (`runtime.resumesBeforeNextTurn`: effect 4, and effect 3's default
   * scheduler), the workers an action needs as it is about to wait are
   * recruited by a look on the next turn (`runtime.nextTurn`), with
   * `recruitForWork`, and only if a worker still waits then on an attempt
   * that started before the look was asked for (else it looks again on the
   * turn after). A promise already resolved resumes its worker before that,
   * and an action that never suspends ends before it, so such actions run
   * on one worker: a hundred fibers taking turns cost effect 3's runtime
   * more per action than one (docs/benchmarks.md), and on effect 4 a worker
   * forked at once for every remaining action of an unbounded run started
   * to find them done.
   * Elsewhere (effect 3 under another scheduler, or without `setImmediate`)
   * the engine recruits at once.
   */
  private settleLooks(fiber: runtime.RuntimeFiber<unknown, unknown>): void {
    this.looksSettled = true
    if (!runtime.resumesBeforeNextTurn(fiber)) return
    const look: Effect.Effect<never, never, R> = runtime.zipRight(
      runtime.zipRight(this.asked, runtime.nextTurn),
      Effect.suspend(() => {
        this.lookAsked = false
        let waiting = false
        let young = false
        for (const worker of this.workers) {
          if (!isWaiting(worker)) continue
          if (worker.attempt <= this.attemptsAtAsk) waiting = true
          else young = true
        }
        // An attempt started since the ask may be one of many that complete at once, or one the runtime made yield
        // (effect 4 starts fibers and yields them on the turn the look takes): the next turn looks again.
        if (!waiting && young) this.ask()
        return runtime.zipRight((waiting ? this.recruitForWork() : undefined) ?? Effect.void, look)
      })
    )
    this.recruiter = look
    this.looks = true
  }

  /**
   * With `looks`: asks for a look, as `worker` starts an attempt about to
   * wait (or the consumer freed room); until the recruiter has started,
   * returns what starts it. The look recruits only for an attempt that was
   * running when it was asked for, and still waits.
   */
  askLook(worker: Worker<A, B> | undefined): Effect.Effect<void, never, R> | undefined {
    if (worker !== undefined) worker.attempt = ++this.attempts
    // With every worker busy, a look could recruit none.
    if (this.saturated) return undefined
    if (!this.lookAsked) this.ask()
    return this.recruiterStarted ? undefined : this.startRecruiter
  }

  private ask(): void {
    this.lookAsked = true
    this.attemptsAtAsk = this.attempts
    const waiter = this.lookWaiter
    this.lookWaiter = undefined
    waiter?.(Effect.void)
  }

  /** Whether a worker waits on an attempt: none that runs on will leave the room the consumer freed untaken. */
  private waiting(): boolean {
    for (const worker of this.workers) if (isWaiting(worker)) return true
    return false
  }

  /** Forks the recruiter, once: should the asker that got this be stopped before it runs it, the next asker does. */
  private readonly startRecruiter: Effect.Effect<void, never, R> = Effect.suspend(() => {
    if (this.recruiterStarted) return Effect.void
    this.recruiterStarted = true
    return this.fork(this.recruiter!)
  })

  /** The recruiter waits until it is asked for a look. */
  private readonly asked: Effect.Effect<void> = runtime.async<void>((resume) => {
    if (this.lookAsked) return resume(Effect.void)
    this.lookWaiter = resume
    return Effect.sync(() => {
      this.lookWaiter = undefined
    })
  })

  wakeAll(): void {
    const parked = this.parked.splice(0)
    for (const resume of parked) resume(Effect.void)
  }

  /** The worker, other than `except`, running `task`; `undefined` if none does. */
  runnerOf(task: Task<A, B>, except: unknown): Worker<A, B> | undefined {
    for (const worker of this.workers) {
      if (worker !== except && worker.task === task) return worker
    }
    return undefined
  }

  /**
   * Interrupts `worker` and waits for it to end (its finalizers run); its
   * place is then free for a new worker, so that no more than `concurrency`
   * actions ever run.
   */
  retire(worker: Worker<A, B>, clock: runtime.ClockReader): Effect.Effect<void> {
    // The cut attempt leaves the limiter's count without a sample: its latency was cut short.
    this.limiter?.dropped(worker.startedAt, clock.millis(), false)
    worker.task = undefined
    this.deadlines?.unwatch(worker)
    worker.fiber.addObserver(() => this.forget(worker))
    return this.stop(worker)
  }

  /** Interrupts `worker` and waits for it to end (its finalizers run). */
  private stop(worker: Worker<A, B>): Effect.Effect<void> {
    return Effect.asVoid(Fiber.interrupt(worker.fiber))
  }

  /**
   * `worker`'s attempt is past its deadline: a fiber of its own (a slow finalizer holds up no other deadline)
   * interrupts it, and once it has ended runs `timedOut`, unless a hedged copy's win or a failure's cut stopped it
   * meanwhile (it no longer runs the task), whose end is then theirs. As with `Effect.timeout`, what the action ends
   * with before the interruption lands (it was uninterruptible, or it ended at the deadline's instant) is not its result.
   */
  expire(worker: Worker<A, B>, timedOut: () => Effect.Effect<void, never, R>): Effect.Effect<void, never, R> {
    const task = worker.task
    worker.awaiting = false
    // Its loop ignores what the action ends with, and should it get past the action before the interruption lands, stops.
    worker.ending = Effect.interrupt
    const expire = runtime.zipRight(this.stop(worker), Effect.suspend(() => worker.task === task ? timedOut() : Effect.void))
    return Effect.asVoid(Effect.forkIn(expire, this.scope!))
  }

  /**
   * `worker` has ended, at the end of its loop or outside it: its place is free (a hedged copy asked for later, or a
   * `concurrency: "auto"` limit that rose again, may recruit a worker again), and it leaves the lists, which a long
   * run whose limit falls and rises would otherwise fill with workers that have left.
   */
  forget(worker: Worker<A, B>): void {
    this.spawned--
    this.workers.splice(this.workers.indexOf(worker), 1)
    this.fibers.splice(this.fibers.indexOf(worker.fiber), 1)
  }

  /** Interrupts, without waiting, the workers running actions after `index` (their spans end as interrupted). */
  interruptAfter(index: number, by: runtime.InterruptorId, metrics: PipelineMetrics | undefined): void {
    for (const worker of this.workers) {
      if (worker.task !== undefined && worker.task.index > index) {
        metrics?.interrupted(worker.task.span, by)
        worker.task = undefined
        this.deadlines?.unwatch(worker)
        runtime.interruptAsFork(worker.fiber, by)
      }
    }
  }

  readonly interruptAll: Effect.Effect<void> = Effect.suspend(() => Fiber.interruptAll(this.fibers))
}

/** Waiting on its attempt, or on what must end with it (`Worker.ending`), which keeps its task till then. */
const isWaiting = <A, B>(worker: Worker<A, B>): boolean => worker.awaiting || worker.task !== undefined

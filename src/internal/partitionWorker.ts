import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import { type Bound, boundAttempts } from "./attemptTimeout.ts"
import { Engine, streamSource } from "./engine.ts"
import { FanOut } from "./fanOut.ts"
import type { LimitOptions } from "./concurrencyLimit.ts"
import type { ResolvedOptions } from "./options.ts"
import * as runtime from "./runtime.ts"

/**
 * The transport-neutral partition worker: what a log consumer (Redis
 * Streams, Kafka) does with the records of one partition it owns. It decodes
 * each record, processes records concurrently (per key in order, or the
 * whole partition in order, or no order), retries failures with a
 * `Schedule`, bounds each attempt with a timeout, applies the poison policy,
 * commits what was released (per key in log order, or a chunk at a time)
 * and then hands the finished records to `acknowledge`.
 *
 * The transport supplies the records (a `Stream` that ends when the
 * partition is to be drained), the sink calls and `acknowledge`; it keeps
 * leases, group membership and the wire protocol to itself. Stopping the
 * worker at once (a lost lease) is interrupting it.
 *
 * @internal
 */

/** What the worker needs of a record; a transport passes its own record type through. */
export interface WorkerRecord {
  /** Its place in the partition's log: a stream ID, an offset. */
  readonly position: string | number
  /** Records with the same key are processed and committed in log order. */
  readonly key: string
}

/** A record processed: its result goes to the sink. */
export interface Processed<Rec, A, B> {
  readonly _tag: "Processed"
  readonly record: Rec
  readonly action: A
  readonly result: B
}

/** A record that could not be decoded (`attempts` 0), or whose processing failed after its retries. */
export interface Poisoned<Rec> {
  readonly _tag: "Poisoned"
  readonly record: Rec
  readonly error: unknown
  readonly attempts: number
}

/** A record of a halted key (`poison: "halt-key"`): neither committed nor acknowledged. */
export interface Halted<Rec> {
  readonly _tag: "Halted"
  readonly record: Rec
}

export type Outcome<Rec, A, B> = Processed<Rec, A, B> | Poisoned<Rec> | Halted<Rec>

/**
 * `"key"`: per key in log order, keys concurrently. `"partition"`: the
 * partition's log order (processing is still concurrent; results are
 * released and committed in order). `"none"`: no order.
 */
export type OrderBy = "key" | "partition" | "none"

/**
 * `"dead-letter"`: the poisoned record goes to `deadLetter`, is acknowledged,
 * and its key moves on. `"halt-key"`: it and every later record of its key
 * stay unacknowledged while this worker runs (other keys go on).
 */
export type PoisonPolicy = "dead-letter" | "halt-key"

export interface WorkerOptions<Rec extends WorkerRecord, A, B, E1, R1, E2, R2> {
  /** At most this many `process` calls at once (with `limit`, the most the limit grows to). */
  readonly concurrency: number
  /** `concurrency: "auto"`: the limit's bounds; `undefined` for a fixed concurrency. */
  readonly limit?: LimitOptions | undefined
  /**
   * Records admitted at once (in flight plus finished and waiting for
   * release), ≥ `concurrency`: a fixed window, or with `maxWindow` where an
   * automatic one starts (`window: "auto"` as the core resolves it).
   */
  readonly window: number
  /** An automatic window grows up to this; `undefined` for a fixed window. */
  readonly maxWindow?: number | undefined
  readonly order: OrderBy
  /** Turns a record into an action; a failure makes the record poison without an attempt. */
  readonly decode: (record: Rec) => Effect.Effect<A, unknown>
  readonly process: (action: A, record: Rec) => Effect.Effect<B, E1, R1>
  /** Retries of a failed or timed-out attempt. Defects are not retried: they are poison at once. */
  readonly retry: Schedule.Schedule<unknown, E1 | runtime.TimeoutException, never>
  /** Each attempt is interrupted after this long and fails with `Cause.TimeoutException`. */
  readonly timeout: Duration.Duration | undefined
  readonly poison: PoisonPolicy
  /**
   * How released results reach the sink. `each`: one call per result, per
   * key in log order (keys concurrently; in order `"partition"` one after
   * the other). `batch`: one call per released chunk, results in release
   * order (so per key in log order).
   */
  readonly commit:
    | { readonly _tag: "each"; readonly commit: (processed: Processed<Rec, A, B>) => Effect.Effect<void, E2, R2> }
    | {
      readonly _tag: "batch"
      readonly commit: (processed: ReadonlyArray<Processed<Rec, A, B>>) => Effect.Effect<void, E2, R2>
    }
  readonly deadLetter: (poisoned: Poisoned<Rec>) => Effect.Effect<void, E2, R2>
  /** Runs before every sink call (commit, batch, dead letter): e.g. a check that the lease is still ours. */
  readonly beforeCommit?: Effect.Effect<void, E2, R2> | undefined
  /**
   * Called once per released chunk, after its sink calls succeeded, with the
   * records that are finished (processed or dead-lettered; not halted). Positions
   * arrive out of log order across keys: fold them into a `Checkpoint` for a
   * contiguous committed offset.
   */
  readonly acknowledge: (finished: ReadonlyArray<Rec>) => Effect.Effect<void, E2, R2>
}

/**
 * The engine's options, built directly: the transport validated them, and
 * the worker bounds attempts itself (no engine timeout, no hedging).
 */
const engineOptions = (
  o: Pick<
    WorkerOptions<WorkerRecord, unknown, unknown, unknown, unknown, unknown, unknown>,
    "concurrency" | "limit" | "window" | "maxWindow" | "order"
  >
): ResolvedOptions<WorkerRecord> => ({
  concurrency: o.concurrency,
  limit: o.limit,
  window: o.window,
  maxWindow: o.maxWindow,
  order: o.order === "partition" ? "total" : o.order,
  key: o.order === "key" ? recordKey : undefined,
  keyConcurrency: o.order === "key" ? 1 : Infinity,
  timeout: undefined,
  hedge: undefined,
  name: undefined
})

const recordKey = (record: WorkerRecord): string => record.key

/** Without `timeout`: attempts run as they are. */
const unbounded: Bound = (attempt) => attempt

/**
 * Runs the worker over `records` until they end and everything read was
 * committed and acknowledged, or until a sink call or `acknowledge` fails.
 *
 * It drives the ordering engine itself, as `Ordered.forEach` does, rather
 * than through `Ordered.mapEffect` and a stream of results: under load each
 * released chunk holds about one result, and the stream stages around it
 * cost as much per action as the engine.
 */
export const run = <Rec extends WorkerRecord, A, B, E1, R1, E2, R2, E0, R0>(
  records: Stream.Stream<Rec, E0, R0>,
  options: WorkerOptions<Rec, A, B, E1, R1, E2, R2>
): Effect.Effect<void, E0 | E2, R0 | R1 | R2> =>
  Effect.scoped(Effect.gen(function*() {
    // Keys whose poison record was handled by halting (seen at processing time,
    // to skip work, and in release order, which is what decides).
    const halting = new Set<string>()
    const halted = new Set<string>()
    const fanOut = new FanOut()
    const upstream = yield* runtime.toArrays(records)
    const bound = options.timeout === undefined ? unbounded : yield* boundAttempts(options.timeout)
    // The engine is given no timeout (attempts are bounded in `handle`, by `bound`), and
    // `handle` fails only by interruption: it fails only with upstream's error.
    const engine = new Engine<Rec, Outcome<Rec, A, B>, E0, R0 | R1>(
      streamSource(upstream),
      handle(options, halting, bound),
      engineOptions(options),
      "action"
    )
    yield* engine.start
    const drain: Effect.Effect<void, E0 | E2, R0 | R1 | R2> = Effect.flatMap(
      engine.pull,
      (released) => released === undefined ? Effect.void : runtime.zipRight(commitChunk(options, halted, fanOut, released), drain)
    )
    return yield* drain
  }))

const handle = <Rec extends WorkerRecord, A, B, E1, R1, E2, R2>(
  o: WorkerOptions<Rec, A, B, E1, R1, E2, R2>,
  halting: Set<string>,
  bound: Bound
) =>
(record: Rec): Effect.Effect<Outcome<Rec, A, B>, never, R1> => {
  if (halting.has(record.key)) return Effect.succeed({ _tag: "Halted", record })
  const decoded = o.decode(record)
  const undecodable = (cause: Cause.Cause<unknown>) => poisoned(o.poison, halting, record, Cause.squash(cause), 0)
  // A decoding that is an `Exit` (JSON without a schema) is read here, not run through the runtime.
  if (runtime.isExit(decoded)) {
    return decoded._tag === "Success"
      ? attempts(o, halting, bound, record, decoded.value)
      : Effect.succeed(undecodable(decoded.cause))
  }
  return Effect.matchCauseEffect(decoded, {
    onFailure: (cause) => Effect.succeed(undecodable(cause)),
    onSuccess: (action) => attempts(o, halting, bound, record, action)
  })
}

/** Processes a decoded record: its attempts under the retry schedule, then its outcome. */
const attempts = <Rec extends WorkerRecord, A, B, E1, R1, E2, R2>(
  o: WorkerOptions<Rec, A, B, E1, R1, E2, R2>,
  halting: Set<string>,
  bound: Bound,
  record: Rec,
  action: A
): Effect.Effect<Outcome<Rec, A, B>, never, R1> => {
  let made = 0
  const attempt = (): Effect.Effect<B, E1 | runtime.TimeoutException, R1> => {
    made++
    return bound(o.process(action, record))
  }
  return Effect.matchCauseEffect(retrying(attempt, o.retry), {
    onSuccess: (result) => Effect.succeed({ _tag: "Processed", record, action, result }),
    // A defect (a throw) is a bug, not a transient failure: poison at once, not retried.
    onFailure: (cause) =>
      runtime.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.succeed(poisoned(o.poison, halting, record, Cause.squash(cause), made))
  })
}

const poisoned = <Rec extends WorkerRecord>(
  policy: PoisonPolicy,
  halting: Set<string>,
  record: Rec,
  error: unknown,
  attempts: number
): Poisoned<Rec> => {
  if (policy === "halt-key") halting.add(record.key)
  return { _tag: "Poisoned", record, error, attempts }
}

/**
 * `Effect.retry(attempt(), schedule)`, with the schedule's state made only
 * after a first failure: most actions succeed at once, and a schedule driver
 * per action is a large part of the per-action cost. The first attempt is
 * the action's own effect, not a suspension around it.
 */
const retrying = <B, E, R>(
  attempt: () => Effect.Effect<B, E, R>,
  schedule: Schedule.Schedule<unknown, E, never>
): Effect.Effect<B, E, R> =>
  runtime.catchAll(attempt(), (first) =>
    Effect.flatMap(runtime.stepsOf(schedule), (step) => {
      const next = (error: E): Effect.Effect<B, E, R> =>
        Effect.matchEffect(step(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => runtime.catchAll(Effect.suspend(attempt), next)
        })
      return next(first)
    }))

/**
 * In release order, a poisoned record of a halting worker halts its key:
 * every later outcome of the key becomes `Halted` (under order `"key"` they
 * already are; under `"partition"` they may have run concurrently).
 */
const haltAfterPoison = <Rec extends WorkerRecord, A, B>(
  policy: PoisonPolicy,
  halted: Set<string>,
  released: ReadonlyArray<Outcome<Rec, A, B>>
): Array<Outcome<Rec, A, B>> => {
  const out: Array<Outcome<Rec, A, B>> = []
  for (const outcome of released) {
    const key = outcome.record.key
    if (halted.has(key)) {
      out.push(outcome._tag === "Halted" ? outcome : { _tag: "Halted", record: outcome.record })
      continue
    }
    if (outcome._tag === "Halted" || (outcome._tag === "Poisoned" && policy === "halt-key")) {
      halted.add(key)
      if (outcome._tag === "Poisoned") {
        out.push({ _tag: "Halted", record: outcome.record })
        continue
      }
    }
    out.push(outcome)
  }
  return out
}

/**
 * Commits a released chunk (the sink calls per key in log order, the keys as `fanOut` runs them), then acknowledges
 * what finished.
 *
 * @internal
 */
export const commitChunk = <Rec extends WorkerRecord, A, B, E1, R1, E2, R2>(
  o: WorkerOptions<Rec, A, B, E1, R1, E2, R2>,
  halted: Set<string>,
  fanOut: FanOut,
  released: ReadonlyArray<Outcome<Rec, A, B>>
): Effect.Effect<void, E2, R2> => {
  // Without "halt-key" no outcome is ever halted: the chunk is as released.
  const outcomes = o.poison === "halt-key" ? haltAfterPoison(o.poison, halted, released) : released
  const finished: Array<Rec> = []
  for (const outcome of outcomes) if (outcome._tag !== "Halted") finished.push(outcome.record)
  const before = o.beforeCommit
  const sink = <X>(call: Effect.Effect<X, E2, R2>) => before === undefined ? call : runtime.zipRight(before, call)
  const applyOne = (outcome: Outcome<Rec, A, B>): Effect.Effect<void, E2, R2> => {
    switch (outcome._tag) {
      case "Processed":
        return o.commit._tag === "each" ? sink(o.commit.commit(outcome)) : Effect.void
      case "Poisoned":
        return sink(o.deadLetter(outcome))
      case "Halted":
        return Effect.void
    }
  }
  let poisoned = false
  for (const outcome of outcomes) if (outcome._tag === "Poisoned") poisoned = true
  // Per-group sink calls: every result under `each`, only dead letters under `batch`.
  const perGroup = o.commit._tag === "batch" && !poisoned ? Effect.void : fanOut.run(groups(o.order, outcomes), (group) =>
      group.length === 1 ? applyOne(group[0]) : Effect.forEach(group, applyOne, { discard: true }))
  let applied = perGroup
  if (o.commit._tag === "batch") {
    const processed: Array<Processed<Rec, A, B>> = []
    for (const outcome of outcomes) if (outcome._tag === "Processed") processed.push(outcome)
    if (processed.length > 0) applied = runtime.zipRight(perGroup, sink(o.commit.commit(processed)))
  }
  return finished.length === 0 ? applied : runtime.zipRight(applied, o.acknowledge(finished))
}

/** The outcomes that must be applied one after the other: per key, the whole partition, or each alone. */
const groups = <Rec extends WorkerRecord, A, B>(
  order: OrderBy,
  outcomes: ReadonlyArray<Outcome<Rec, A, B>>
): ReadonlyArray<ReadonlyArray<Outcome<Rec, A, B>>> => {
  if (order === "partition" || outcomes.length === 1) return [outcomes]
  if (order === "none") return outcomes.map((outcome) => [outcome])
  const byKey = new Map<string, Array<Outcome<Rec, A, B>>>()
  for (const outcome of outcomes) {
    const list = byKey.get(outcome.record.key)
    if (list === undefined) byKey.set(outcome.record.key, [outcome])
    else list.push(outcome)
  }
  return Array.from(byKey.values())
}

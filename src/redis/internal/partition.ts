import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Worker from "../../internal/partitionWorker.ts"
import { errorText, recordKey } from "../../internal/transportOptions.ts"
import type { Entry } from "../index.ts"
import { RedisError } from "../errors.ts"
import * as Lease from "./lease.ts"
import type { Resolved } from "./options.ts"
import { ACK, ACTION_FIELD, CLAIM, command, KEY_FIELD, READ, runScript, streamKey } from "./redis.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * One owned partition: reads its stream (pending entries first) fenced by
 * the lease, runs the partition worker over what it read, and wires the
 * worker's sink calls to `commit`/`commitBatch`, the dead-letter stream and
 * the fenced `XACK`.
 *
 * @internal
 */

/** The group's read position moved behind the worker's back: it starts over from the pending entries. */
class ReadsOutOfStep extends Data.TaggedError("ReadsOutOfStep")<{ readonly partition: number }> {
  override get message(): string {
    return `reads of partition ${this.partition} out of step (a resent read delivered entries); starting over from the pending entries`
  }
}

/** A stream entry as read, before decoding. */
export interface StreamRecord extends Worker.WorkerRecord {
  /** The stream ID. */
  readonly position: string
  /** The entry's key, or for an entry without one a key of its own (it is poison, nothing waits for it). */
  readonly key: string
  readonly entry: Entry
  readonly payload: string | undefined
}

/** Parses `[id, [field, value, …]]` replies; skips entries deleted from the stream (nil). */
const parseEntries = (lease: Lease.Lease, reply: unknown): ReadonlyArray<StreamRecord> => {
  const out: Array<StreamRecord> = []
  for (const item of (reply ?? []) as Array<[string, Array<string>] | null>) {
    if (item === null || item[1] === null) continue
    const [id, fields] = item
    let key: string | undefined
    let payload: string | undefined
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === KEY_FIELD) key = fields[i + 1]
      else if (fields[i] === ACTION_FIELD) payload = fields[i + 1]
    }
    const entry: Entry = { partition: lease.partition, id, key: key ?? "", fence: lease.fence }
    out.push({ position: id, key: recordKey(key, id), entry, payload })
  }
  return out
}

/** Redis refused a fenced command: the lease is someone else's. */
const refused = (lease: Lease.Lease, what: string) =>
  new Lease.LeaseLost({ partition: lease.partition, reason: `Redis refused a fenced ${what} (another consumer holds the lease)` })

/**
 * The partition's entries: first the pending ones (of any consumer, by
 * `XAUTOCLAIM`), then new ones (`XREADGROUP`), until `stop` completes. A
 * refused read is signalled through `lost`, which stops all of the
 * partition's work at once (a failing stream would let the actions in
 * flight finish and commit first).
 */
const reads = <A, B, E1, R1, E2, R2>(
  o: Resolved<A, B, E1, R1, E2, R2>,
  lease: Lease.Lease,
  stop: Deferred.Deferred<void>,
  lost: Deferred.Deferred<never, Lease.LeaseLost>
): Stream.Stream<StreamRecord, RedisError | ReadsOutOfStep> => {
  const stream = streamKey(o.prefix, lease.partition)
  const fencedOut = (what: string) => runtime.zipRight(Deferred.fail(lost, refused(lease, what)), Effect.never)
  // The group's last delivered ID as this worker knows it: every read checks
  // that nothing was delivered behind its back (a resent read).
  let lastDelivered = ""
  // `undefined` once XAUTOCLAIM has gone round the pending list.
  let cursor: string | undefined = "0-0"
  const pending = runtime.fromArrays(Effect.suspend(() =>
    cursor === undefined ? Effect.succeed(undefined) : runScript(o.redis, CLAIM, [lease.key, stream], [
      lease.token,
      o.group,
      o.consumer,
      cursor,
      o.batchSize
    ]).pipe(
      Effect.flatMap((reply) =>
        reply === null ? fencedOut("XAUTOCLAIM") : Effect.succeed(reply as [string, unknown, string])
      ),
      Effect.map(([next, entries, delivered]) => {
        lastDelivered = delivered
        cursor = next === "0-0" ? undefined : next
        return parseEntries(lease, entries)
      })
    )
  ))
  const read = Effect.suspend(() =>
    runScript(o.redis, READ, [lease.key, stream], [lease.token, o.group, o.consumer, o.batchSize, lastDelivered])
  ).pipe(
    Effect.flatMap((reply) => {
      if (reply === null) return fencedOut("XREADGROUP")
      if (reply === "moved") return Effect.fail(new ReadsOutOfStep({ partition: lease.partition }))
      const records = parseEntries(lease, reply)
      if (records.length === 0) return Effect.as(Effect.sleep(o.pollInterval), records)
      lastDelivered = records[records.length - 1].position
      return Effect.succeed(records)
    })
  )
  // Ends once `stop` completes: what was read still goes through process, commit and XACK.
  const fresh = runtime.fromArrays(
    Effect.flatMap(Deferred.isDone(stop), (stopped) => stopped ? Effect.succeed(undefined) : read)
  )
  return Stream.concat(pending, fresh)
}

/** The entry's action: JSON, then the schema if there is one. Any failure (a missing field too) makes it poison. */
const decode = <A, B, E1, R1, E2, R2>(o: Resolved<A, B, E1, R1, E2, R2>) => (record: StreamRecord) =>
  Effect.suspend(() => {
    if (record.entry.key === "") return Effect.fail(new Error(`entry has no "${KEY_FIELD}" field (the key)`))
    if (record.payload === undefined) return Effect.fail(new Error(`entry has no "${ACTION_FIELD}" field`))
    return o.decodePayload(record.payload)
  })

const deadLetter = <A, B, E1, R1, E2, R2>(o: Resolved<A, B, E1, R1, E2, R2>) =>
({ attempts, error, record }: Worker.Poisoned<StreamRecord>) =>
  Effect.asVoid(command("XADD dead-letter", () =>
    o.redis.xadd(
      o.deadLetter, "*",
      "partition", String(record.entry.partition),
      "id", record.entry.id,
      "key", record.entry.key,
      "action", record.payload ?? "",
      "error", errorText(error),
      "attempts", String(attempts),
      "consumer", o.consumer
    )))

/** Acknowledges finished entries with the fenced `XACK`. */
const acknowledge = <A, B, E1, R1, E2, R2>(o: Resolved<A, B, E1, R1, E2, R2>, lease: Lease.Lease) => {
  const stream = streamKey(o.prefix, lease.partition)
  return (finished: ReadonlyArray<StreamRecord>) =>
    runScript(o.redis, ACK, [lease.key, stream], [lease.token, o.group, ...finished.map((r) => r.position)]).pipe(
      Effect.flatMap((acked) => acked === -1 ? Effect.fail(refused(lease, "XACK")) : Effect.void)
    )
}

/**
 * Processes the partition until the lease is lost or something fails, or,
 * once `stop` completes, until what was read is committed and acknowledged.
 */
export const work = <A, B, E1, R1, E2, R2>(
  o: Resolved<A, B, E1, R1, E2, R2>,
  lease: Lease.Lease,
  times: Lease.LeaseTimes,
  stop: Deferred.Deferred<void>,
  lost: Deferred.Deferred<never, Lease.LeaseLost>
): Effect.Effect<void, E2 | RedisError | Lease.LeaseLost | ReadsOutOfStep, R1 | R2> =>
  runtime.zipRight(
    command("XGROUP CREATE", () => o.redis.xgroup("CREATE", streamKey(o.prefix, lease.partition), o.group, "0", "MKSTREAM")).pipe(
      Effect.catchIf((e) => errorText(e.cause).startsWith("BUSYGROUP"), () => Effect.void)
    ),
    Worker.run<StreamRecord, A, B, E1, R1, E2 | RedisError | Lease.LeaseLost, R2, RedisError | ReadsOutOfStep, never>(
      reads(o, lease, stop, lost),
      {
        concurrency: o.concurrency,
        limit: o.limit,
        window: o.window,
        maxWindow: o.maxWindow,
        order: "key",
        decode: decode(o),
        process: (action, record) => o.process(action, record.entry),
        retry: o.retry,
        timeout: o.timeout,
        poison: o.poison,
        commit: sinkCommit(o.commit),
        deadLetter: deadLetter(o),
        beforeCommit: Lease.check(lease, times),
        acknowledge: acknowledge(o, lease)
      }
    )
  )

/** `commit` or `commitBatch`, as the worker calls them. */
const sinkCommit = <A, B, E2, R2>(
  commit: Resolved<A, B, unknown, unknown, E2, R2>["commit"]
): Worker.WorkerOptions<StreamRecord, A, B, unknown, unknown, E2, R2>["commit"] => {
  if (commit._tag === "each") {
    const f = commit.commit
    return { _tag: "each", commit: ({ action, record, result }) => f(result, action, record.entry) }
  }
  const f = commit.commit
  return {
    _tag: "batch",
    commit: (processed) => f(processed.map(({ action, record, result }) => ({ result, action, entry: record.entry })))
  }
}

/** Why a partition's work stopped, for the log. */
export const stopReason = (cause: Cause.Cause<unknown>): string => {
  const failure = runtime.failureOption(cause)
  if (Option.isNone(failure)) return `defect: ${Cause.pretty(cause)}`
  const error = failure.value
  if (error instanceof Lease.LeaseLost || error instanceof ReadsOutOfStep) return error.message
  if (error instanceof RedisError) return `Redis error: ${error.message}`
  return `commit failed: ${errorText(error)}`
}

/**
 * Owns the partition until the lease is lost, the work fails, or `stop`
 * completes and the work drained; then gives the lease back. Never fails:
 * why it stopped is logged, and the partition is taken again later.
 */
export const own = <A, B, E1, R1, E2, R2>(
  o: Resolved<A, B, E1, R1, E2, R2>,
  lease: Lease.Lease,
  times: Lease.LeaseTimes,
  stop: Deferred.Deferred<void>
): Effect.Effect<void, never, R1 | R2> =>
  Effect.logDebug(`partition ${lease.partition} taken with fence ${lease.fence}`).pipe(
    runtime.zipRight(Deferred.make<never, Lease.LeaseLost>()),
    // The first to end (or fail) ends the partition's work.
    Effect.flatMap((lost) =>
      Effect.raceFirst(
        work(o, lease, times, stop, lost),
        Effect.raceFirst(Lease.keep(o.redis, lease, times), Deferred.await(lost))
      )
    ),
    runtime.zipRight(Effect.logDebug(`partition ${lease.partition} handed over`)),
    runtime.catchAllCause((cause) =>
      runtime.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.logWarning(`partition ${lease.partition} stopped: ${stopReason(cause)}; it will be taken again`)
    ),
    Effect.ensuring(Lease.release(o.redis, lease, times)),
    Effect.annotateLogs({ consumer: o.consumer, partition: lease.partition })
  )

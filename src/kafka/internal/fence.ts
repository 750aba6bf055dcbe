import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as runtime from "../../internal/runtime.ts"

/**
 * When this consumer's partition runs may still write: the group's
 * refusals that mean the member or its generation is gone, and the fence
 * every offset commit, checkpoint and user `commit` passes through.
 *
 * @internal
 */

/** The member is gone: the group removed it (session expired) or fenced its static instance id. */
const MEMBER_GONE: ReadonlySet<string> = new Set(["UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"])

/** The group has a newer generation than the one the request carried, or is handing one out. */
const GENERATION_GONE: ReadonlySet<string> = new Set(["ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS"])

/** KafkaJS nests a protocol error at most a few levels deep; the bound only guards against a cycle. */
const MAX_CAUSE_DEPTH = 16

/**
 * The Kafka protocol error type (`"UNKNOWN_MEMBER_ID"`, …) found first along
 * `error`'s `cause` chain. KafkaJS's retrier wraps a non-retriable error as
 * `new KafkaJSNonRetriableError(e, { cause: e.cause || e })`, and a retrier
 * around a retrier wraps again, so the protocol error may sit several levels
 * down (under this package's `KafkaError` too).
 */
export const protocolErrorType = (error: unknown): string | undefined => {
  let current = error
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === "object" && current !== null; depth++) {
    const type = (current as { readonly type?: unknown }).type
    if (typeof type === "string") return type
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

/**
 * Whether a refused offset commit means that this consumer's partitions are
 * no longer its own. A gone member always does. A gone generation does too,
 * except while a rebalance this consumer knows of is under way: then its
 * drain commits are refused until it has joined the next generation, which
 * decides what it keeps.
 */
export const isLostSession = (error: unknown, rebalancing: boolean): boolean => {
  const type = protocolErrorType(error)
  return type !== undefined && (MEMBER_GONE.has(type) || (!rebalancing && GENERATION_GONE.has(type)))
}

/**
 * This consumer's membership as its runs see it. KafkaJS does not surface
 * the generation id, so `join` counts the group joins this consumer saw
 * (`GROUP_JOIN`): each one is a generation it was given partitions under.
 */
export interface Membership {
  join: number
  memberId: string | undefined
  /** KafkaJS said `REBALANCING` and has not joined since: the runs drain. */
  rebalancing: boolean
  /** Done by the join that ends the rebalance: what the runs may keep is decided. */
  decided: Deferred.Deferred<void>
  /** The group refused a commit because this member or its generation is gone: every run is stale. */
  lost: boolean
  readonly clock: runtime.ClockReader
  /**
   * When the last request the group accepted from this member was sent (an
   * offset commit; a join counts from its answer), on `clock`. The sending
   * time, not the answer's: an answer read after a stop may be to a request
   * sent before it.
   */
  heardAt: number
  /**
   * Silent longer than this (half the session timeout), the member may have
   * been dropped without knowing it (a stopped process, a long pause): writes
   * wait until the group answers again, or refuses.
   */
  readonly quietLimit: number
  /** Done, and replaced, whenever the group accepts a request or the session is found lost. */
  heard: Deferred.Deferred<void>
}

/** What a partition run carries to pass the fence. */
export interface Fenced {
  /** The join it was taken under; moved to the next join when the partition is kept by the same member. */
  join: number
  /** Set for good once the run learns its partition is no longer its own. */
  stale: boolean
}

/** @internal */
export const makeMembership = (clock: runtime.ClockReader, sessionTimeout: number): Membership => ({
  join: 0,
  memberId: undefined,
  rebalancing: false,
  decided: runtime.makeDeferred(),
  lost: false,
  clock,
  heardAt: clock.millis(),
  quietLimit: sessionTimeout / 2,
  heard: runtime.makeDeferred()
})

/** The group accepted a request sent `sentAt`: this was a member then; writes held for silence go on if that is recent. @internal */
export const heard = (membership: Membership, sentAt: number = membership.clock.millis()): void => {
  if (sentAt > membership.heardAt) membership.heardAt = sentAt
  wakeHeld(membership)
}

/** Silent longer than `quietLimit`: writes wait, and the commit loop asks the group (`offsets.ts`). @internal */
export const isQuiet = (membership: Membership): boolean =>
  membership.clock.millis() - membership.heardAt > membership.quietLimit

const wakeHeld = (membership: Membership): void => {
  const held = membership.heard
  membership.heard = runtime.makeDeferred()
  runtime.completeDeferred(held, Exit.void)
}

/** The group refused a commit because this member or its generation is gone: every run is stale at once. @internal */
export const lost = (membership: Membership): void => {
  membership.lost = true
  wakeHeld(membership)
}

/** A rebalance begins: writes other than offset commits wait for the join (`fenced`). @internal */
export const rebalancing = (membership: Membership): void => {
  if (membership.rebalancing) return
  membership.rebalancing = true
  membership.decided = runtime.makeDeferred()
}

/** A join: the fence moves to it. The writes held since the rebalance began wait for `decided`. @internal */
export const joined = (membership: Membership, memberId: string): void => {
  membership.join++
  membership.memberId = memberId
  membership.rebalancing = false
  membership.lost = false
  heard(membership)
}

/**
 * The join has moved the runs it keeps to itself: the writes held since the rebalance began go on or end. Only
 * then, as effect 4 resumes them within this call (effect 3 later): sooner, a kept run's write would see the old
 * join and end unwritten. @internal
 */
export const decided = (membership: Membership): void => runtime.completeDeferred(membership.decided, Exit.void)

/**
 * Whether `run` may still write (offsets, checkpoint metadata, the user's
 * `commit`, dead letters): it was taken under the current join, the group has
 * refused nothing of this membership, and it was not found stale.
 */
export const isCurrent = (membership: Membership, run: Fenced): boolean =>
  !run.stale && !membership.lost && run.join === membership.join

/**
 * A write to the outside world (the user's `commit`, a dead letter) of
 * `run`: done while the run is current; a stale run ends instead (interrupted),
 * writing nothing. During a rebalance it waits for the join: a partition that
 * moves to another member is redone there, so writing it here too would
 * only add a duplicate. After a silence longer than `quietLimit` it waits
 * until the group accepts a request sent since: a process resumed after a stop past its
 * session would otherwise write what it held before the refusal of its
 * first commit told it that its partitions are gone.
 */
export const fenced = <X, E, R>(
  membership: Membership,
  run: Fenced,
  write: () => Effect.Effect<X, E, R>
): Effect.Effect<X, E, R> => {
  const attempt: Effect.Effect<X, E, R> = Effect.suspend(() => {
    if (membership.rebalancing) return runtime.zipRight(Deferred.await(membership.decided), attempt)
    if (!isCurrent(membership, run)) return Effect.interrupt
    if (isQuiet(membership)) return runtime.zipRight(Deferred.await(membership.heard), attempt)
    return write()
  })
  return attempt
}

import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { ConsumeOptions } from "../index.ts"
import * as Lease from "./lease.ts"
import * as Membership from "./membership.ts"
import { resolve } from "./options.ts"
import * as Partition from "./partition.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * The consumer: membership keeps this consumer's fair share of partition
 * leases (lease.ts); each owned partition runs the transport-neutral
 * partition worker over its stream (partition.ts). Every read and
 * acknowledgement is fenced by the lease token inside Redis, every commit
 * carries the lease's fencing token, and a lease keeper renews the lease and
 * stops the partition's work once it can no longer be sure the lease is its own.
 *
 * @internal
 */
export const consume = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Effect.Effect<never, never, R1 | R2> =>
  Effect.suspend(() => {
    const o = resolve(options)
    const times = Lease.leaseTimes(o.leaseTtl)
    return Effect.scoped(Effect.gen(function*() {
      // Partition workers live in their own scope: on shutdown they are first
      // handed over (drained), then what is left is interrupted.
      const workers = yield* Scope.make()
      const membership = yield* Membership.make(
        { ...o, times },
        (lease, stop) => Partition.own(o, lease, times, stop),
        workers
      )
      yield* Effect.addFinalizer(() =>
        membership.handOverAll.pipe(
          runtime.zipRight(Scope.close(workers, Exit.void)),
          runtime.zipRight(membership.leave)
        )
      )
      return yield* membership.rebalance.pipe(
        runtime.catchAllCause((cause) => Effect.logWarning("rebalance failed; retrying", cause)),
        runtime.zipRight(Effect.sleep(times.renewEvery)),
        Effect.forever
      )
    })).pipe(Effect.annotateLogs({ consumer: o.consumer }))
  })

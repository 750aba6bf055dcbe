/**
 * `effect-ordered/workers`: per-key ordering on Cloudflare Workers (workerd)
 * with Durable Objects.
 *
 * Workers forbid what a `Sequencer` shared across requests needs: a promise
 * created in one request's context cannot be resolved from another request,
 * so a consumer fiber in global memory hangs (workerd cancels the request:
 * "code had hung"). A Durable Object is the platform's unit of per-key state:
 * route a key's requests to `idFromName(key)` and, inside the object, a
 * {@link KeySequencer} reassembles that key's client-numbered actions
 * (duplicates refused, out-of-order ones held, a gap given up on after
 * `gapTimeout`) and hands them to your `apply` one at a time, in sequence
 * order. The next expected sequence lives in the object's storage, written
 * together with the object's state, so it survives eviction.
 *
 * No dependency on `@cloudflare/workers-types`: {@link DurableObjectStorage}
 * declares the two methods used.
 *
 * @since 0.1.0
 */
/**
 * Reassembly of one key's client-numbered actions inside a Durable Object.
 *
 * @since 0.1.0
 */
export * as KeySequencer from "./KeySequencer.ts"

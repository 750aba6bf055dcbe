import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { resolveConcurrency, resolveWindow } from "./options.ts"
import type { OrderBy, WorkerOptions } from "./partitionWorker.ts"
import * as V from "./validate.ts"
import * as runtime from "./runtime.ts"

/**
 * The options every log transport (Redis Streams, Kafka) hands to the
 * partition worker, checked and defaulted in one place: concurrency (a
 * number, or `"auto"` with `maxConcurrency` / `minConcurrency` as in `Ordered`), the
 * window (resolved by the core's own window resolution, so `"auto"` and
 * `maxWindow` mean and default to what they do in `Ordered`), retries,
 * timeout, poison policy and the payload's decoding. A transport adds its
 * own options (connection, names, leases, offsets) around them.
 *
 * @internal
 */

/** Retries of a failed `process` when none are given: up to 4, exponential from 100 milliseconds. */
const DEFAULT_RETRY: Schedule.Schedule<unknown, unknown> = runtime.intersect(
  Schedule.exponential("100 millis"),
  Schedule.recurs(4)
)

const POISON_POLICIES = ["dead-letter", "halt-key"] as const
const ORDERS = ["key", "partition", "none"] as const

/** The options the worker takes as they are resolved here (the transport wires the sink calls). */
export interface ResolvedWorkerOptions<A, E1> extends
  Pick<
    WorkerOptions<never, A, unknown, E1, unknown, unknown, unknown>,
    "concurrency" | "limit" | "window" | "maxWindow" | "retry" | "timeout" | "poison"
  >
{
  /** A record's payload (JSON text) to an action: `JSON.parse`, then the schema's decoding if there is one. */
  readonly decodePayload: (payload: string) => Effect.Effect<A, unknown>
}

/**
 * Validates the shared options of a transport's consumer once, up front;
 * throws `Cause.IllegalArgumentException` naming the option and the value.
 * `options` is the consumer's options object, already checked to be one.
 */
export const resolveWorkerOptions = <A, E1>(options: Record<string, unknown>): ResolvedWorkerOptions<A, E1> => {
  // An integer, or "auto" with its bounds (no ambient concurrency: a consumer is not inside a forEach).
  const { concurrency, limit } = resolveConcurrency(options, undefined)
  return {
    concurrency,
    limit,
    ...workerWindow(options.window, options.maxWindow, concurrency),
    retry: retrySchedule(options.retry) as Schedule.Schedule<unknown, E1 | runtime.TimeoutException, never>,
    timeout: V.optionalPositiveDuration("options.timeout", options.timeout),
    poison: options.poison === undefined ? "dead-letter" : V.oneOf("options.poison", options.poison, POISON_POLICIES),
    decodePayload: payloadDecoder<A>(options.schema)
  }
}

/**
 * The window of a partition worker: as in `Ordered` (default `"auto"`,
 * with `maxWindow`), but always bounded: a consumer reads from a log that
 * may be far longer than memory, so `Infinity` is refused.
 */
const workerWindow = (
  window: unknown,
  maxWindow: unknown,
  concurrency: number
): { readonly window: number; readonly maxWindow: number | undefined } => {
  const checked = window === undefined || window === "auto"
    ? "auto"
    : V.integerAtLeast("options.window", window, concurrency, `an integer ≥ concurrency (${concurrency}) or "auto"`)
  return resolveWindow(checked, maxWindow, concurrency)
}

const retrySchedule = (retry: unknown): Schedule.Schedule<unknown, unknown> => {
  if (retry === undefined) return DEFAULT_RETRY
  if (Schedule.isSchedule(retry)) return retry as Schedule.Schedule<unknown, unknown>
  throw V.invalid("options.retry", "a Schedule", retry)
}

/** JSON, then the schema if there is one; the parser's own error (its message names the position) is kept. */
const payloadDecoder = <A>(schema: unknown): (payload: string) => Effect.Effect<A, unknown> => {
  if (schema !== undefined && !Schema.isSchema(schema)) throw V.invalid("options.schema", "a Schema", schema)
  const parse = (payload: string) => Effect.try({ try: () => JSON.parse(payload) as unknown, catch: (error) => error })
  if (schema === undefined) return parse as (payload: string) => Effect.Effect<A, unknown>
  const decode = runtime.decodeUnknown(schema as runtime.SchemaOf<A, unknown>)
  return (payload) => Effect.flatMap(parse(payload), decode)
}

/** `options.order` of a transport that offers one (Kafka): `"key"` by default. */
export const resolveOrder = (order: unknown): OrderBy =>
  order === undefined ? "key" : V.oneOf("options.order", order, ORDERS)

/** A required name (prefix, group, topic, consumer…): a non-empty string. */
export const text = (path: string, value: unknown): string => {
  const checked = V.optionalText(path, value)
  if (checked === undefined) throw V.invalid(path, "a non-empty string", value)
  return checked
}

/**
 * The worker key of a record: its own key, or for a record without one
 * (missing or empty) a key no other record has, so that it is ordered with
 * nothing and holds nothing up.
 */
export const recordKey = (key: string | null | undefined, position: string | number): string =>
  key === undefined || key === null || key === "" ? `\u0000${position}` : key

/** An error as text for a dead letter or a log line: its message, else its JSON. */
export const errorText = (error: unknown): string => {
  if (error instanceof Error) return error.message
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/**
 * The edge example's batch route and keyed route on effect 4, whose `effect/http` holds what
 * `@effect/platform` did on effect 3 (`../edge/app.ts` stays on effect 3 and `@effect/platform`):
 *
 * - `POST /actions`: an NDJSON batch (one action with its `key` per line); the costly steps run
 *   concurrently with `Ordered.mapEffect`, each action is applied to its key's order in input order,
 *   and one result line per action streams back in that order.
 * - `POST /keys/:key/actions/:sequence`: one client-numbered action, applied in sequence order by
 *   the key's `KeySequencer` (`keys.ts`); 409 for a duplicate, 504 behind a gap.
 * - `GET /orders/:key`, `GET /healthz`.
 *
 * `makeHandler` gives a web-standard `(request: Request) => Promise<Response>`, served on Node by
 * `node.ts` and on workerd by `worker.ts`, each with its own `Keys`.
 */
import { Data, Effect, Layer, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Ordered } from "effect-ordered"
import { Action, costlyStep, type Order, type Outcome, type Reply } from "./keys.ts"

/** Where each key's order lives: this process (Node) or the key's Durable Object (workerd). */
export interface Keys {
  readonly apply: (key: string, action: Action) => Effect.Effect<Outcome>
  readonly submit: (key: string, sequence: number, action: Action) => Effect.Effect<Reply>
  readonly order: (key: string) => Effect.Effect<Order | undefined>
}

export interface Config {
  readonly runtime: string
  /** At most this many costly steps of a batch run at once. */
  readonly concurrency: number
  /** The costly step's latency for an action that names none. */
  readonly latencyMs: number
}

class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number; readonly error: string }> {}

const json = (body: unknown, status = 200) => HttpServerResponse.jsonUnsafe(body, { status })

const decodeAction = Schema.decodeUnknownEffect(Action)

/** One JSON action: malformed JSON is a 400, a schema violation a 422. */
const parseAction = (text: string, where: string): Effect.Effect<{ readonly raw: unknown; readonly action: Action }, HttpError> =>
  Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => new HttpError({ status: 400, error: `Malformed JSON ${where}` }) })
    .pipe(Effect.flatMap((raw) =>
      decodeAction(raw).pipe(
        Effect.map((action) => ({ raw, action })),
        Effect.mapError((error) => new HttpError({ status: 422, error: `Invalid action ${where}: ${error.message}` }))
      )
    ))

/** The batch's lines, each with its key, all validated before anything runs. */
const parseBatch = (body: string) =>
  Effect.forEach(body.split("\n").filter((line) => line.trim() !== ""), (text, i) =>
    Effect.flatMap(parseAction(text, `on line ${i + 1}`), ({ action, raw }) => {
      const key = (raw as { readonly key?: unknown }).key
      return typeof key === "string" && key !== ""
        ? Effect.succeed({ key, action })
        : Effect.fail(new HttpError({ status: 422, error: `Expected a non-empty string key on line ${i + 1}` }))
    }))

const routes = (keys: Keys, config: Config) => {
  const encoder = new TextEncoder()
  const batch = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const lines = yield* parseBatch(yield* Effect.orDie(request.text))
    const results = Stream.fromIterable(lines).pipe(
      Ordered.mapEffect((line) => Effect.as(costlyStep(line.action, config.latencyMs), line), {
        concurrency: config.concurrency
      }),
      Stream.zipWithIndex,
      // One at a time, in input order: each key's order sees its actions as the client sent them.
      Stream.mapEffect(([{ action, key }, index]) =>
        Effect.map(keys.apply(key, action), (outcome) =>
          encoder.encode(`${JSON.stringify({ index, key, type: action.type, ...outcome })}\n`))
      )
    )
    return HttpServerResponse.stream(results, { contentType: "application/x-ndjson" })
  })

  const keyed = Effect.gen(function*() {
    const { key, sequence } = yield* HttpRouter.params
    if (!/^\d+$/.test(sequence!)) {
      return yield* new HttpError({ status: 400, error: `Expected sequence to be an integer ≥ 0, got ${JSON.stringify(sequence)}` })
    }
    const request = yield* HttpServerRequest.HttpServerRequest
    const { action } = yield* parseAction(yield* Effect.orDie(request.text), "in the body")
    const reply = yield* keys.submit(key!, Number(sequence), action)
    return json(reply.body, reply.status)
  })

  const order = Effect.gen(function*() {
    const { key } = yield* HttpRouter.params
    const found = yield* keys.order(key!)
    return found === undefined ? json({ error: `No open order ${JSON.stringify(key)}` }, 404) : json(found)
  })

  const answerErrors = <R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, HttpError, R>) =>
    Effect.catchTag(handler, "HttpError", (error) => Effect.succeed(json({ error: error.error }, error.status)))

  return Layer.mergeAll(
    HttpRouter.add("GET", "/healthz", json({ status: "ok", runtime: config.runtime })),
    HttpRouter.add("POST", "/actions", answerErrors(batch)),
    HttpRouter.add("POST", "/keys/:key/actions/:sequence", answerErrors(keyed)),
    HttpRouter.add("GET", "/orders/:key", order)
  )
}

/** The routes as a web-standard handler. */
export const makeHandler = (keys: Keys, config: Config): {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} => {
  const { dispose, handler } = HttpRouter.toWebHandler(routes(keys, config), { disableLogger: true })
  return { handler: (request) => handler(request), dispose }
}

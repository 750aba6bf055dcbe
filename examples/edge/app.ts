/**
 * The edge example: an HTTP handler that takes NDJSON actions, runs their
 * costly step concurrently with `Ordered.mapEffect`, applies them to the
 * order book in the order the client sent them, and streams one result line
 * per action back as soon as it is ready.
 *
 * `app` is a plain `@effect/platform` HTTP app; `makeWebHandler` turns it
 * into a web-standard `(request: Request) => Promise<Response>` for Deno,
 * Bun and workers; `node.ts` serves `app` with `@effect/platform-node`.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Ordered } from "../../src/index.ts"
import { Action, type BookError, type Order, OrderBook } from "./domain.ts"
import { page } from "./page.ts"

// ---------------------------------------------------------------------------
// Configuration and services
// ---------------------------------------------------------------------------

export interface EdgeConfig {
  /** Reported by `GET /healthz`: which runtime serves the handler. */
  readonly runtime: string
  /** `POST /actions`: at most this many costly steps run at once. */
  readonly concurrency: number
  /** `POST /actions`: reorder window; default `3 × concurrency`. */
  readonly window?: number | undefined
  /** Simulated cost of an action that carries no `latencyMs`, in milliseconds. */
  readonly latencyMs: number
  /** A `POST /actions` body over this many bytes is rejected with 413. */
  readonly maxBodyBytes: number
  /** A `POST /actions` body with more actions than this is rejected with 413. */
  readonly maxActions: number
}

export const defaultConfig: EdgeConfig = {
  runtime: "unknown",
  concurrency: 16,
  latencyMs: 5,
  maxBodyBytes: 1024 * 1024,
  maxActions: 1000
}

/**
 * Reads the configuration from environment variables (`CONCURRENCY`,
 * `WINDOW`, `LATENCY_MS`, `MAX_BODY_BYTES`, `MAX_ACTIONS`); an unset variable
 * keeps its default, a malformed one stops the server at startup.
 */
export const configFromEnv = (runtime: string, env: Readonly<Record<string, string | undefined>>): EdgeConfig => {
  const int = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === "") return fallback
    const value = Number(raw)
    if (!Number.isSafeInteger(value) || value < min) {
      throw new Error(`Expected env ${name} to be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
    }
    return value
  }
  return {
    runtime,
    concurrency: int("CONCURRENCY", defaultConfig.concurrency, 1)!,
    window: int("WINDOW", undefined, 1),
    latencyMs: int("LATENCY_MS", defaultConfig.latencyMs, 0)!,
    maxBodyBytes: int("MAX_BODY_BYTES", defaultConfig.maxBodyBytes, 1)!,
    maxActions: int("MAX_ACTIONS", defaultConfig.maxActions, 1)!
  }
}

export class Config extends Context.Tag("effect-ordered/examples/edge/Config")<Config, EdgeConfig>() {}

/**
 * The costly step every action goes through before it is applied
 * (validation, enrichment, a call to a pricing service…). Simulated by
 * sleeping; tests swap in their own.
 */
export class CostlyStep extends Context.Tag("effect-ordered/examples/edge/CostlyStep")<
  CostlyStep,
  (action: Action, index: number) => Effect.Effect<void>
>() {}

/** Sleeps `action.latencyMs`, or the configured default. */
export const sleepingStep = (config: EdgeConfig) => (action: Action): Effect.Effect<void> =>
  Effect.sleep(Duration.millis(action.latencyMs ?? config.latencyMs))

/** Counts costly steps by outcome; `GET /healthz` reports them. */
export class Stats extends Effect.Service<Stats>()("effect-ordered/examples/edge/Stats", {
  effect: Effect.gen(function*() {
    const started = yield* Ref.make(0)
    const finished = yield* Ref.make(0)
    const interrupted = yield* Ref.make(0)
    const bump = (ref: Ref.Ref<number>) => Ref.update(ref, (n) => n + 1)
    /** Runs `effect` counted: started, then finished or interrupted. */
    const track = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        bump(started).pipe(
          Effect.zipRight(restore(effect)),
          Effect.onExit((exit) => bump(Exit.isInterrupted(exit) ? interrupted : finished))
        )
      )
    const snapshot = Effect.all({ started, finished, interrupted }).pipe(
      Effect.map((s) => ({ ...s, inFlight: s.started - s.finished - s.interrupted }))
    )
    return { track, snapshot } as const
  })
}) {}

/** Everything the routes need; it lives as long as the server. */
export type Services = Config | CostlyStep | Stats | OrderBook

export const layer = (
  config: EdgeConfig,
  options?: { readonly step?: ((action: Action, index: number) => Effect.Effect<void>) | undefined }
): Layer.Layer<Services> =>
  Layer.mergeAll(
    Layer.succeed(Config, config),
    Layer.succeed(CostlyStep, options?.step ?? sleepingStep(config)),
    Stats.Default,
    OrderBook.Default
  )

// ---------------------------------------------------------------------------
// Errors: every error response is a JSON body
// ---------------------------------------------------------------------------

/** Ends a request with `status` and a JSON `body`. */
export class HttpError extends Data.TaggedError("HttpError")<{
  readonly status: number
  readonly body: { readonly error: string } & Record<string, unknown>
  readonly headers?: Record<string, string> | undefined
}> {}

const fail = (status: number, error: string, fields?: Record<string, unknown>) =>
  Effect.fail(new HttpError({ status, body: { error, ...fields } }))

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

// ---------------------------------------------------------------------------
// POST /actions
// ---------------------------------------------------------------------------

/** An action together with its 1-based line in the body. */
export interface ParsedAction {
  readonly line: number
  readonly action: Action
}

export type ResultLine =
  & { readonly line: number; readonly index: number; readonly key: string; readonly type: Action["type"] }
  & { readonly finished: number }
  & (
    | { readonly ok: true; readonly order: Order }
    | { readonly ok: false; readonly error: { readonly _tag: BookError["_tag"]; readonly message: string } }
  )

/** Reads the whole body, failing with 413 as soon as it exceeds `maxBytes`. */
const readBody = (maxBytes: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tooLarge = fail(413, `Body exceeds ${maxBytes} bytes`, { limit: { bytes: maxBytes } })
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* tooLarge
    const chunks = yield* request.stream.pipe(
      Stream.mapError((cause) => new HttpError({ status: 400, body: { error: `Could not read body: ${cause.message}` } })),
      Stream.runFoldEffect(
        { size: 0, chunks: [] as Array<Uint8Array> },
        (acc, chunk) => {
          acc.size += chunk.length
          acc.chunks.push(chunk)
          return acc.size > maxBytes ? tooLarge : Effect.succeed(acc)
        }
      )
    )
    const bytes = new Uint8Array(chunks.size)
    let offset = 0
    for (const chunk of chunks.chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return yield* Effect.try({
      try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      catch: () => new HttpError({ status: 400, body: { error: "Body is not valid UTF-8" } })
    })
  })

const decodeAction = Schema.decodeUnknownEither(Action, { errors: "first", onExcessProperty: "error" })

/**
 * Parses and validates every line before anything runs, so a bad line
 * rejects the whole batch: 413 (too many actions), 400 (malformed JSON),
 * 422 (schema violation, with the field path). Blank lines are skipped.
 */
export const parseActions = (
  body: string,
  maxActions: number
): Effect.Effect<Array<ParsedAction>, HttpError> =>
  Effect.gen(function*() {
    const lines = body.split("\n").flatMap((text, i) =>
      text.trim() === "" ? [] : [{ line: i + 1, text: text.endsWith("\r") ? text.slice(0, -1) : text }]
    )
    if (lines.length > maxActions) {
      return yield* fail(413, `Body has ${lines.length} actions, more than ${maxActions}`, {
        limit: { actions: maxActions },
        actions: lines.length
      })
    }
    const actions: Array<ParsedAction> = []
    for (const { line, text } of lines) {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (error) {
        return yield* fail(400, `Malformed JSON: ${(error as Error).message}`, { line })
      }
      const decoded = decodeAction(value)
      if (Either.isLeft(decoded)) {
        const [issue] = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
        return yield* fail(422, "Invalid action", { line, path: issue.path, message: issue.message })
      }
      actions.push({ line, action: decoded.right })
    }
    return actions
  })

const Order = Schema.Literal("total", "key", "none")

/**
 * Runs the batch: the costly steps concurrently (at most `concurrency`, within
 * `window`), released in `order`, each applied to the book as it is released.
 * `finished` is the rank in which the action's costly step completed.
 */
export const processActions = (
  actions: ReadonlyArray<ParsedAction>,
  options: { readonly order: typeof Order.Type; readonly concurrency: number; readonly window?: number | undefined }
): Stream.Stream<ResultLine | { readonly error: string }, never, Services> =>
  Stream.unwrap(Effect.gen(function*() {
    const book = yield* OrderBook
    const stats = yield* Stats
    const step = yield* CostlyStep
    const finishedCount = yield* Ref.make(0)
    return Stream.fromIterable(actions).pipe(
      Ordered.mapEffect(
        (parsed, index) =>
          stats.track(step(parsed.action, index)).pipe(
            Effect.zipRight(Ref.updateAndGet(finishedCount, (n) => n + 1)),
            Effect.map((finished) => ({ ...parsed, index, finished }))
          ),
        {
          concurrency: options.concurrency,
          window: options.window,
          order: options.order,
          key: options.order === "key" ? (parsed) => parsed.action.key : undefined
        }
      ),
      Stream.mapEffect(({ action, finished, index, line }) =>
        book.apply(action).pipe(
          Effect.either,
          Effect.map((applied): ResultLine => {
            const head = { line, index, key: action.key, type: action.type, finished }
            return Either.isRight(applied)
              ? { ...head, ok: true, order: applied.right }
              : { ...head, ok: false, error: { _tag: applied.left._tag, message: applied.left.message } }
          })
        )
      ),
      // Headers are gone by now: a failure (e.g. an action timeout) ends the body with an error line.
      Stream.catchAll((error) => Stream.make({ error: error.message }))
    )
  }))

const postActions = Effect.gen(function*() {
  const config = yield* Config
  const query = yield* HttpServerRequest.ParsedSearchParams
  const order = query.order ?? "total"
  if (!Schema.is(Order)(order)) {
    return yield* fail(400, `Expected query parameter order to be "total", "key" or "none", got ${JSON.stringify(order)}`, {
      parameter: "order"
    })
  }
  const actions = yield* parseActions(yield* readBody(config.maxBodyBytes), config.maxActions)
  const context = yield* Effect.context<Services>()
  const encoder = new TextEncoder()
  const body = processActions(actions, { order, concurrency: config.concurrency, window: config.window }).pipe(
    Stream.map((result) => encoder.encode(`${JSON.stringify(result)}\n`)),
    Stream.provideContext(context)
  )
  return HttpServerResponse.stream(body, {
    contentType: "application/x-ndjson",
    // The type is authoritative: a client must not hold back the first bytes to sniff it.
    headers: Headers.fromInput({ "x-content-type-options": "nosniff" })
  })
})

// ---------------------------------------------------------------------------
// Other routes, routing, 404/405
// ---------------------------------------------------------------------------

const getOrder = Effect.gen(function*() {
  const { key } = yield* HttpRouter.params
  const order = yield* Effect.flatMap(OrderBook, (book) => book.get(key!))
  return Option.isSome(order) ? json(order.value) : yield* fail(404, `No open order ${JSON.stringify(key)}`)
})

const healthz = Effect.gen(function*() {
  const config = yield* Config
  const actions = yield* Effect.flatMap(Stats, (stats) => stats.snapshot)
  return json({ status: "ok", runtime: config.runtime, actions })
})

const routes = [
  HttpRouter.makeRoute("GET", "/", Effect.succeed(HttpServerResponse.html(page))),
  HttpRouter.makeRoute("GET", "/healthz", healthz),
  HttpRouter.makeRoute("POST", "/actions", postActions),
  HttpRouter.makeRoute("GET", "/orders/:key", getOrder)
] as const

/** The methods `routes` accept for `pathname` (`:param` matches one non-empty segment). */
const allowedMethods = (pathname: string): Array<string> => {
  const segments = pathname.split("/")
  return routes.filter((route) => {
    const pattern = route.path.split("/")
    return pattern.length === segments.length &&
      pattern.every((part, i) => part.startsWith(":") ? segments[i] !== "" : part === segments[i])
  }).map((route) => route.method)
}

const notFound = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const pathname = new URL(request.url, "http://localhost").pathname
  const allowed = allowedMethods(pathname)
  if (allowed.length === 0) return yield* fail(404, `No route for ${request.method} ${pathname}`)
  return yield* Effect.fail(
    new HttpError({
      status: 405,
      body: { error: `Method ${request.method} not allowed on ${pathname}`, allowed },
      headers: { allow: allowed.join(", ") }
    })
  )
})

/**
 * The whole HTTP app. Errors become JSON responses: `HttpError` with its
 * status, an unknown path 404, a known path with the wrong method 405, a
 * defect 500.
 */
export const app: HttpApp.Default<never, Services> = HttpRouter.fromIterable(routes).pipe(
  Effect.catchTag("RouteNotFound", () => notFound),
  Effect.catchTag("HttpError", (error) =>
    Effect.succeed(
      HttpServerResponse.unsafeJson(error.body, { status: error.status, headers: error.headers ?? {} })
    )),
  Effect.catchAllDefect((defect) => Effect.succeed(json({ error: `Internal error: ${String(defect)}` }, 500)))
)

/**
 * The app as a web-standard handler, with its services built once and kept
 * for the handler's lifetime (so the book persists across requests).
 * `dispose` releases them.
 */
export const makeWebHandler = (
  config: EdgeConfig,
  options?: Parameters<typeof layer>[1]
): {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} => {
  const { dispose, handler } = HttpApp.toWebHandlerLayer(app, layer(config, options))
  return { handler: (request) => handler(request), dispose }
}

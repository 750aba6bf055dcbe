/**
 * The edge example: an HTTP handler that takes actions for an order book,
 * runs their costly step concurrently with effect-ordered, applies them in
 * the order the client sent them, and streams the results back.
 *
 * `app` is a plain `@effect/platform` HTTP app; `makeWebHandler` turns it
 * into a web-standard `(request: Request) => Promise<Response>` for Deno,
 * Bun and workers; `node.ts` serves `app` with `@effect/platform-node`.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Sequencer } from "../../src/index.ts"
import { postActions } from "./actions.ts"
import { type Action, OrderBook } from "./domain.ts"
import { fail, HttpError, json } from "./http.ts"
import { KeyedActions, postKeyedAction } from "./keyed.ts"
import { page } from "./page.ts"
import { Config, CostlyStep, type EdgeConfig, InputBacklog, sleepingStep, Stats } from "./services.ts"

export { configFromEnv, defaultConfig, type EdgeConfig } from "./services.ts"

/** Everything the routes need; built once, it lives as long as the server. */
export type Services = Config | CostlyStep | Stats | OrderBook | KeyedActions

/**
 * The services, from `config`. `step` replaces the simulated costly step;
 * `backlog` is the input backlog the server holds from each connection's
 * accept (`node-server.ts`), else one held by each keyed request itself.
 */
export const layer = (
  config: EdgeConfig,
  options?: {
    readonly step?: ((action: Action, index: number) => Effect.Effect<void>) | undefined
    readonly backlog?: Sequencer.Backlog | undefined
  }
): Layer.Layer<Services> =>
  KeyedActions.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(Config, config),
      Layer.succeed(CostlyStep, options?.step ?? sleepingStep(config)),
      options?.backlog === undefined
        ? Layer.effect(InputBacklog, Sequencer.makeBacklog)
        : Layer.succeed(InputBacklog, options.backlog),
      Stats.Default,
      OrderBook.Default
    ))
  )

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
  HttpRouter.makeRoute("POST", "/keys/:key/actions/:sequence", postKeyedAction),
  HttpRouter.makeRoute("GET", "/orders/:key", getOrder)
] as const

/** Longest path parameter the router matches (find-my-way's default, 100, is shorter than a valid key). */
const maxPathParamLength = 2048

/** The methods `routes` accept for `pathname` (`:param` matches one non-empty segment). */
const allowedMethods = (pathname: string): Array<string> => {
  const segments = pathname.split("/")
  return routes.filter((route) => {
    const pattern = route.path.split("/")
    return pattern.length === segments.length &&
      pattern.every((part, i) => part.startsWith(":") ? segments[i] !== "" : part === segments[i])
  }).map((route) => route.method)
}

const noRoute = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const pathname = new URL(request.url, "http://localhost").pathname
  const allowed = allowedMethods(pathname)
  if (allowed.length === 0) return yield* fail(404, `No route for ${request.method} ${pathname}`)
  if (allowed.includes(request.method)) {
    // the pattern and the method match: the router refused a parameter over its length limit
    return yield* fail(414, `A path parameter is longer than ${maxPathParamLength} characters`, {
      limit: { pathParameter: maxPathParamLength }
    })
  }
  return yield* Effect.fail(
    new HttpError({
      status: 405,
      body: { error: `Method ${request.method} not allowed on ${pathname}`, allowed },
      headers: { allow: allowed.join(", ") }
    })
  )
})

/**
 * The whole HTTP app. Every error is a JSON response: `HttpError` with its
 * status, an unknown path 404, a known path with the wrong method 405 (with
 * `Allow`), a path parameter over `maxPathParamLength` 414, a defect 500.
 */
export const app: HttpApp.Default<never, Services> = HttpRouter.toHttpApp(HttpRouter.fromIterable(routes)).pipe(
  HttpRouter.withRouterConfig({ maxParamLength: maxPathParamLength }),
  Effect.runSync
).pipe(
  Effect.catchTag("RouteNotFound", () => noRoute),
  Effect.catchTag("HttpError", (error) =>
    Effect.succeed(HttpServerResponse.unsafeJson(error.body, { status: error.status, headers: error.headers ?? {} }))),
  Effect.catchAllDefect((defect) => Effect.succeed(json({ error: `Internal error: ${String(defect)}` }, 500)))
)

/**
 * The app as a web-standard handler, its services built on the first request
 * and kept until `dispose` (so the book persists across requests).
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

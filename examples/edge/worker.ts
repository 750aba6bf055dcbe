/**
 * The edge example on Cloudflare Workers (workerd): `npm run serve:workerd`.
 *
 * The same `app` (routes, statuses, JSON errors) as the Node, Deno and Bun
 * servers, with the book and the keyed route backed by one Durable Object
 * per key (`KeyObject`, bound as `KEYS`, addressed by `idFromName(key)`):
 *
 * - The object holds its key's order (in memory and in its storage) and is
 *   the only place that changes it.
 * - `POST /keys/:key/actions/:sequence`: the worker validates the request and
 *   forwards the action to the key's object, where a `KeySequencer` releases
 *   the key's actions in sequence order and applies them (costly step, then
 *   the book), persisting the order with the key's next sequence.
 * - `POST /actions`: the worker runs the batch's costly steps concurrently
 *   (`Ordered.mapEffect`, as everywhere) and applies what is released
 *   together by calling the objects of the keys it touches (one call per key,
 *   in parallel, each with that key's actions in order); `GET /orders/:key`
 *   reads the order there. So both routes change one book, each key in one
 *   place, one action at a time.
 *
 * Why objects: workerd cancels a request that waits on a promise another
 * request must resolve, so a `Sequencer` shared in the worker's memory hangs.
 * Inside one object, requests may wait on each other.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { Sequencer } from "../../src/index.ts"
import { KeySequencer } from "../../src/workers/index.ts"
import { app, configFromEnv, type EdgeConfig, type Services } from "./app.ts"
import {
  Action,
  applyTo,
  type Book,
  type BookError,
  type Order,
  OrderBook,
  OrderExistsError,
  UnknownOrderError
} from "./domain.ts"
import { KeyedActions, type Reply, settleReleased } from "./keyed.ts"
import { Config, CostlyStep, sleepingStep, Stats } from "./services.ts"

// The parts of the Workers runtime API used here (no dependency on @cloudflare/workers-types).
interface DurableObjectId {
  readonly name?: string | undefined
}
interface DurableObjectStub {
  fetch(url: string, init?: RequestInit): Promise<Response>
}
interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId
  get(id: DurableObjectId): DurableObjectStub
}
interface DurableObjectState {
  readonly storage: KeySequencer.DurableObjectStorage
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>
}
/** The bindings: `KEYS` and the configuration variables (`CONCURRENCY`, `LATENCY_MS`, …) as text. */
interface Env {
  readonly KEYS: DurableObjectNamespace
  readonly [name: string]: unknown
}

const configOf = (env: Env): EdgeConfig => configFromEnv("workerd", env as Record<string, string | undefined>)

/**
 * One counter for the worker and every object of this isolate: `/healthz`
 * counts the batch route's costly steps and the keyed route's. On Cloudflare
 * an isolate serves a share of the traffic, and its counts are its own.
 */
const stats = Effect.runSync(Effect.scoped(Effect.map(Layer.build(Stats.Default), Context.get(Stats))))

/**
 * The input backlog of the keyed route, shared like `stats`: the worker holds
 * it while a keyed request is read and forwarded, and hands the hold to the
 * key's object, which releases it once its offer is placed; every object's
 * `KeySequencer` is given it. So on the local workerd (one isolate for the
 * worker and every object) no object gives up a gap while a request of any
 * key is still on its way to its object. On Cloudflare an object may run in
 * another isolate: it then sees only its own key's signs of a backlog.
 */
const backlog = Effect.runSync(Sequencer.makeBacklog)

/** Holds handed from the worker to an object with a forwarded request (header `x-backlog-hold`). */
const handedHolds = new Map<string, () => void>()
let lastHoldId = 0
const HOLD_HEADER = "x-backlog-hold"

/** Releases the hold handed with `request`, if this isolate holds it. */
const releaseHandedHold = (request: Request): void => {
  const id = request.headers.get(HOLD_HEADER)
  if (id === null) return
  handedHolds.get(id)?.()
  handedHolds.delete(id)
}

// ------------------------------------------------------------ worker ⇄ object

/** A sequencer refusal as it crosses from the object to the worker. */
const SequencerRefusal = Schema.Union(
  Schema.TaggedStruct("DuplicateSequenceError", { key: Schema.String, sequence: Schema.Number, next: Schema.Number }),
  Schema.TaggedStruct("SequenceOutOfWindowError", {
    key: Schema.String,
    sequence: Schema.Number,
    next: Schema.Number,
    capacity: Schema.Number
  }),
  Schema.TaggedStruct("SequencerClosedError", { key: Schema.String, sequence: Schema.Number })
)

const refusalError = (refusal: typeof SequencerRefusal.Type): Sequencer.OfferError => {
  switch (refusal._tag) {
    case "DuplicateSequenceError":
      return new Sequencer.DuplicateSequenceError(refusal)
    case "SequenceOutOfWindowError":
      return new Sequencer.SequenceOutOfWindowError(refusal)
    case "SequencerClosedError":
      return new Sequencer.SequencerClosedError(refusal)
  }
}

/** What the object answers to `POST /apply`, per action: the order afterwards, or the book's refusal. */
type Applied = { readonly order: Order } | { readonly error: BookError["_tag"] }

const bookError = (tag: BookError["_tag"], key: string): BookError =>
  tag === "OrderExistsError" ? new OrderExistsError({ key }) : new UnknownOrderError({ key })

/** The worker's side: the book and the keyed route, each call going to the key's object. */
const objectLayer = (env: Env): Layer.Layer<OrderBook | KeyedActions> => {
  /** Calls the key's object; `A` is what its route answers (the object is this file's, so trusted). */
  const call = <A>(key: string, path: string, init?: RequestInit) =>
    Effect.promise(async () => {
      const response = await env.KEYS.get(env.KEYS.idFromName(key)).fetch(`https://object${path}`, init)
      return { status: response.status, body: await response.json() as A }
    })
  const post = <A>(key: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    call<A>(key, path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers }
    })

  const book: Book = {
    // One call per key the actions touch, the keys in parallel, each key's actions in order.
    applyAll: (actions) => {
      const byKey = new Map<string, Array<{ readonly action: Action; readonly index: number }>>()
      actions.forEach((action, index) => {
        const entries = byKey.get(action.key)
        if (entries === undefined) byKey.set(action.key, [{ action, index }])
        else entries.push({ action, index })
      })
      return Effect.forEach(byKey, ([key, entries]) =>
        Effect.map(
          post<Array<Applied>>(key, "/apply", entries.map(({ action }) => action)),
          ({ body }) => entries.map(({ index }, i) => [index, body[i]] as const)
        ), { concurrency: "unbounded" }).pipe(
          Effect.map((perKey) => {
            const results = new Array<Either.Either<Order, BookError>>(actions.length)
            for (const [index, applied] of perKey.flat()) {
              results[index] = "order" in applied
                ? Either.right(applied.order)
                : Either.left(bookError(applied.error, actions[index].key))
            }
            return results
          })
        )
    },
    get: (key) =>
      Effect.map(call<Order | null>(key, `/orders/${encodeURIComponent(key)}`), ({ body }) => Option.fromNullable(body))
  }
  // Acceptance happens in the object: the call is the wait, carrying a hold the object releases once it offered.
  const submit = (key: string, sequence: number, action: Action) =>
    Effect.sync(() => {
      const id = String(++lastHoldId)
      const release = Sequencer.unsafeHoldGaps(backlog)
      handedHolds.set(id, release)
      return Effect.flatMap(
        post<Record<string, unknown>>(key, `/sequences/${sequence}`, action, { [HOLD_HEADER]: id }),
        ({ body, status }) =>
          status === 409 || status === 503
            ? Effect.fail(refusalError(Schema.decodeUnknownSync(SequencerRefusal)(body)))
            : Effect.succeed({ status: status as Reply["status"], body })
      ).pipe(Effect.ensuring(Effect.sync(() => {
        handedHolds.delete(id)
        release()
      })))
    })

  return Layer.merge(
    Layer.succeed(OrderBook, OrderBook.make(book)),
    Layer.succeed(KeyedActions, KeyedActions.make({ submit, hold: Sequencer.holdGaps(backlog) }))
  )
}

/** The worker's handler, built once per isolate from the first request's bindings. */
let handler: ((request: Request) => Promise<Response>) | undefined

const makeHandler = (env: Env): (request: Request) => Promise<Response> => {
  const config = configOf(env)
  const services: Layer.Layer<Services> = Layer.mergeAll(
    Layer.succeed(Config, config),
    Layer.succeed(CostlyStep, sleepingStep(config)),
    Layer.succeed(Stats, stats),
    objectLayer(env)
  )
  // Every layer above is built synchronously: no promise of the first request is shared with later ones.
  const runtime = Effect.runSync(Layer.toRuntime(services).pipe(Scope.extend(Effect.runSync(Scope.make()))))
  return HttpApp.toWebHandlerRuntime(runtime)(app)
}

/**
 * How long a streamed response may stay silent. workerd notices a client
 * that went away only when it writes to the connection (neither
 * `request.signal` nor the body's `cancel` fires while the response is idle),
 * so a silent batch would run its actions to the end for nobody. A blank line
 * every second (NDJSON readers skip blank lines) lets it notice, cancel the
 * body, and so interrupt the batch.
 */
const heartbeatMillis = 1000
const blankLine = new TextEncoder().encode("\n")

/** `body`, with a blank line whenever it has been silent for `heartbeatMillis`. */
const withHeartbeat = (body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => {
  const reader = body.getReader()
  let next: Promise<ReadableStreamReadResult<Uint8Array>> | undefined
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      next ??= reader.read()
      let timer: ReturnType<typeof setTimeout> | undefined
      const silence = new Promise<"silence">((resolve) => timer = setTimeout(() => resolve("silence"), heartbeatMillis))
      const result = await Promise.race([next, silence])
      clearTimeout(timer)
      if (result === "silence") return controller.enqueue(blankLine)
      next = undefined
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    cancel: (reason) => reader.cancel(reason)
  })
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    handler ??= makeHandler(env)
    const response = await handler(request)
    if (response.body === null || response.headers.get("content-type") !== "application/x-ndjson") return response
    return new Response(withHeartbeat(response.body), response)
  }
}

// --------------------------------------------------------------- the object

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/** The storage entry holding the key's order (absent or `null`: no open order). */
const ORDER = "order"

/**
 * The Durable Object owning one key: its order, and the reassembly of its
 * client-numbered actions. Internal routes, called by the worker only:
 * `POST /apply` (an array of the key's actions), `GET /orders/:key`,
 * `POST /sequences/:sequence`.
 */
export class KeyObject {
  private order: Option.Option<Order> = Option.none()
  private readonly config: EdgeConfig
  private readonly scope = Effect.runSync(Scope.make())
  private sequencer: Promise<KeySequencer.KeySequencer<Action, Reply, never>> | undefined

  constructor(private readonly state: DurableObjectState, env: Env) {
    this.config = configOf(env)
    void state.blockConcurrencyWhile(async () => {
      this.order = Option.fromNullable(await state.storage.get<Order | null>(ORDER))
    })
  }

  /** The object's book: its one order, changed only here. */
  private readonly book: Book = {
    applyAll: (actions) =>
      Effect.sync(() =>
        actions.map((action) => {
          const applied = applyTo(this.order, action)
          if (Either.isRight(applied)) this.order = applied.right[1]
          return Either.map(applied, ([result]) => result)
        })
      ),
    get: () => Effect.sync(() => this.order)
  }

  private readonly persisted = () => ({ [ORDER]: Option.getOrNull(this.order) })

  /** The key's sequencer, made on its first keyed request (the object learns its key from it). */
  private sequencerOf(key: string): Promise<KeySequencer.KeySequencer<Action, Reply, never>> {
    const gapTimeout = Duration.millis(this.config.gapTimeoutMs)
    const step = sleepingStep(this.config)
    this.sequencer ??= Effect.runPromise(
      KeySequencer.make({
        storage: this.state.storage,
        key,
        capacity: this.config.sequencerCapacity,
        gapTimeout,
        maxGapWait: this.config.maxGapWaitMs === undefined ? undefined : Duration.millis(this.config.maxGapWaitMs),
        backlog,
        apply: ({ missing, sequence, value }: KeySequencer.Released<Action>) =>
          stats.track(step(value)).pipe(
            Effect.zipRight(settleReleased(key, sequence, value, missing, gapTimeout)),
            Effect.provideService(OrderBook, OrderBook.make(this.book))
          ),
        state: this.persisted
      }).pipe(Scope.extend(this.scope))
    )
    return this.sequencer
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.split("/")
    if (request.method === "POST" && path[1] === "apply") {
      const actions = Schema.decodeUnknownSync(Schema.Array(Action))(await request.json())
      const applied = Effect.runSync(this.book.applyAll(actions))
      await this.state.storage.put(this.persisted())
      return json(applied.map((result): Applied =>
        Either.isRight(result) ? { order: result.right } : { error: result.left._tag }
      ))
    }
    if (request.method === "GET" && path[1] === "orders") return json(Option.getOrNull(this.order))
    if (request.method === "POST" && path[1] === "sequences") {
      const action = Schema.decodeUnknownSync(Action)(await request.json())
      const sequencer = await this.sequencerOf(action.key)
      // The run places the offer before any timer can run (in this turn's microtasks): the worker's hold can go.
      const replied = Effect.runPromise(Effect.either(sequencer.submit(Number(path[2]), action)))
      releaseHandedHold(request)
      const reply = await replied
      if (Either.isRight(reply)) return json(reply.right.body, reply.right.status)
      const { _tag, ...fields } = reply.left
      return json({ _tag, ...fields }, _tag === "SequencerClosedError" || _tag === "SequencerKeyLimitError" ? 503 : 409)
    }
    return json({ error: `No object route for ${request.method} ${path.join("/")}` }, 404)
  }
}

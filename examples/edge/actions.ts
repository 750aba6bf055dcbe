/**
 * `POST /actions`: an NDJSON batch in, one result line per action out, in
 * input order, each as soon as everything before it is done.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Ordered } from "../../src/index.ts"
import { Action, type BookError, type Order, OrderBook } from "./domain.ts"
import { decodeJson, fail, type HttpError, readBody } from "./http.ts"
import { Config, CostlyStep, Stats } from "./services.ts"

/** An action together with its 1-based line in the body. */
export interface ParsedAction {
  readonly line: number
  readonly action: Action
}

/** How a book operation came out, as the response shows it. */
export type Outcome =
  | { readonly ok: true; readonly order: Order }
  | { readonly ok: false; readonly error: { readonly _tag: BookError["_tag"]; readonly message: string } }

export type ResultLine =
  & {
    readonly line: number
    readonly index: number
    readonly key: string
    readonly type: Action["type"]
    /** Rank, from 1, in which the action's costly step finished within its batch. */
    readonly finished: number
  }
  & Outcome

/**
 * `?progress=true`: lines that tell, as it happens, that an action's costly
 * step started or finished (`finished`: its rank, from 1, within the batch),
 * interleaved with the result lines; the demo page draws the batch from them.
 */
export interface ProgressLine {
  readonly progress: "started" | "finished"
  readonly index: number
  readonly finished?: number
}

const outcomeOf = (applied: Either.Either<Order, BookError>): Outcome =>
  Either.isRight(applied)
    ? { ok: true, order: applied.right }
    : { ok: false, error: { _tag: applied.left._tag, message: applied.left.message } }

/** Applies `actions` to the book, in order; a book error is an outcome, not a failure. */
export const applyActions = (actions: ReadonlyArray<Action>): Effect.Effect<Array<Outcome>, never, OrderBook> =>
  Effect.map(Effect.flatMap(OrderBook, (book) => book.applyAll(actions)), (applied) => applied.map(outcomeOf))

/**
 * Parses and validates every line before anything runs, so a bad line
 * rejects the whole batch: 413 (too many actions), 400 (malformed JSON),
 * 422 (schema violation, with the field path). Blank lines are skipped.
 */
export const parseActions = (body: string, maxActions: number): Effect.Effect<Array<ParsedAction>, HttpError> =>
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
      actions.push({ line, action: yield* decodeJson(Action, text, { line }) })
    }
    return actions
  })

/** `?order=`: how a batch is released (`Ordered` `order`). */
const ReleaseOrder = Schema.Literal("total", "key", "none")

/** `?progress=`: whether progress lines are streamed too. */
const Progress = Schema.Literal("true", "false")

/**
 * Runs a batch: the costly steps concurrently (at most `concurrency`, within
 * `window`), released in `order`, each applied to the book as it is released.
 */
export const processActions = (
  actions: ReadonlyArray<ParsedAction>,
  options: {
    readonly order: typeof ReleaseOrder.Type
    readonly concurrency: number
    readonly window?: number | undefined
    readonly onProgress?: ((line: ProgressLine) => Effect.Effect<void>) | undefined
  }
): Stream.Stream<ResultLine | { readonly error: string }, never, CostlyStep | Stats | OrderBook> =>
  Stream.unwrap(Effect.gen(function*() {
    const stats = yield* Stats
    const step = yield* CostlyStep
    const finishedCount = yield* Ref.make(0)
    const progress = options.onProgress ?? (() => Effect.void)
    return Stream.fromIterable(actions).pipe(
      Ordered.mapEffect(
        (parsed, index) =>
          progress({ progress: "started", index }).pipe(
            Effect.zipRight(stats.track(step(parsed.action, index))),
            Effect.zipRight(Ref.updateAndGet(finishedCount, (n) => n + 1)),
            Effect.tap((finished) => progress({ progress: "finished", index, finished })),
            Effect.map((finished) => ({ ...parsed, index, finished }))
          ),
        {
          concurrency: options.concurrency,
          window: options.window,
          order: options.order,
          key: options.order === "key" ? (parsed) => parsed.action.key : undefined
        }
      ),
      // Timers that fire together each run their microtasks before the next one (Node, Deno), so
      // every finished step would release its result alone: a chunk, a pass down this pipeline
      // and a write each. Waiting one timer tick before taking the next chunk lets the results
      // released meanwhile go out together (examples/edge/README.md, "Throughput at LATENCY_MS=5").
      Stream.mapChunksEffect((released) => Effect.as(Effect.sleep(Duration.zero), released)),
      // Chunk by chunk: the results released together are applied (in order) and sent together.
      Stream.mapChunksEffect((released) =>
        Effect.map(applyActions(Chunk.toReadonlyArray(released).map((parsed) => parsed.action)), (outcomes) =>
          Chunk.map(released, ({ action, finished, index, line }, i): ResultLine => ({
            line,
            index,
            key: action.key,
            type: action.type,
            finished,
            ...outcomes[i]
          })))
      )
    )
  }))

export const postActions = Effect.gen(function*() {
  const config = yield* Config
  const query = yield* HttpServerRequest.ParsedSearchParams
  const order = query.order ?? "total"
  if (!Schema.is(ReleaseOrder)(order)) {
    return yield* fail(400, `Expected query parameter order to be "total", "key" or "none", got ${JSON.stringify(order)}`, {
      parameter: "order"
    })
  }
  const progress = query.progress ?? "false"
  if (!Schema.is(Progress)(progress)) {
    return yield* fail(400, `Expected query parameter progress to be "true" or "false", got ${JSON.stringify(progress)}`, {
      parameter: "progress"
    })
  }
  const actions = yield* parseActions(yield* readBody(config.maxBodyBytes), config.maxActions)
  const context = yield* Effect.context<CostlyStep | Stats | OrderBook>()
  const encoder = new TextEncoder()
  const events = progress === "true" ? yield* Queue.unbounded<ProgressLine>() : undefined
  const results = processActions(actions, {
    order,
    concurrency: config.concurrency,
    window: config.window,
    onProgress: events && ((line) => Queue.offer(events, line))
  })
  // the batch ends with its last result; progress lines still queued by then say nothing new
  const lines = events === undefined
    ? results
    : Stream.merge(results, Stream.fromQueue(events), { haltStrategy: "left" })
  const body = lines.pipe(
    Stream.mapChunks((results) =>
      Chunk.of(encoder.encode(Chunk.join(Chunk.map(results, (result) => `${JSON.stringify(result)}\n`), "")))
    ),
    Stream.provideContext(context)
  )
  return HttpServerResponse.stream(body, {
    contentType: "application/x-ndjson",
    // The type is authoritative: a client must not hold back the first bytes to sniff it.
    headers: Headers.fromInput({ "x-content-type-options": "nosniff" })
  })
})

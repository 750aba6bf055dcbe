/**
 * HTTP helpers shared by the routes: JSON error responses, a size-limited
 * body reader, and action decoding that maps each kind of bad input to its
 * status.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** Ends a request with `status` and a JSON `body`; the app turns it into the response. */
export class HttpError extends Data.TaggedError("HttpError")<{
  readonly status: number
  readonly body: { readonly error: string } & Record<string, unknown>
  readonly headers?: Record<string, string> | undefined
}> {}

export const fail = (status: number, error: string, fields?: Record<string, unknown>): Effect.Effect<never, HttpError> =>
  Effect.fail(new HttpError({ status, body: { error, ...fields } }))

export const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status })

/**
 * How much of an over-size body is read and dropped before the 413 goes out:
 * a body read to its end leaves the connection clean for the client's next
 * request, and the client, which may still be writing, is not reset before it
 * reads the answer. A larger body is answered at once, and the connection
 * closes after the answer (`node-server.ts` lingers on it).
 */
export const maxDiscardBytes = 16 * 1024 * 1024

/**
 * Reads the whole body as UTF-8 (no body at all reads as `""`); a body over `maxBytes` is a 413, answered
 * once the body was read (and dropped) to its end, or at once beyond
 * `maxDiscardBytes`.
 */
export const readBody = (maxBytes: number): Effect.Effect<string, HttpError, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tooLarge = fail(413, `Body exceeds ${maxBytes} bytes`, { limit: { bytes: maxBytes } })
    const discardLimit = Math.max(maxBytes, maxDiscardBytes)
    if (Number(request.headers["content-length"] ?? "0") > discardLimit) return yield* tooLarge
    // A web `Request` without a body (`body: null`; Node's requests always have a stream) reads as empty.
    if ((request.source as { readonly body?: unknown }).body === null) return ""
    const read = yield* request.stream.pipe(
      Stream.mapError((cause) => new HttpError({ status: 400, body: { error: `Could not read body: ${cause.message}` } })),
      Stream.runFoldEffect({ size: 0, chunks: [] as Array<Uint8Array> }, (acc, chunk) => {
        acc.size += chunk.length
        if (acc.size <= maxBytes) acc.chunks.push(chunk)
        return acc.size > discardLimit ? tooLarge : Effect.succeed(acc)
      })
    )
    if (read.size > maxBytes) return yield* tooLarge
    const bytes = new Uint8Array(read.size)
    let offset = 0
    for (const chunk of read.chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return yield* Effect.try({
      try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      catch: () => new HttpError({ status: 400, body: { error: "Body is not valid UTF-8" } })
    })
  })

/**
 * Decodes one JSON document with `schema`: malformed JSON is a 400, a schema
 * violation a 422 naming the field path. `context` (e.g. the line number)
 * goes into both error bodies; `prepare` adjusts the parsed value first.
 */
export const decodeJson = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  context: Record<string, unknown>,
  prepare: (value: unknown) => unknown = (value) => value
): Either.Either<A, HttpError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(new HttpError({ status: 400, body: { error: `Malformed JSON: ${(error as Error).message}`, ...context } }))
  }
  return Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "error" })(prepare(value)).pipe(
    Either.mapLeft((error) => {
      const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
      return new HttpError({
        status: 422,
        body: { error: "Invalid action", ...context, path: issue.path, message: issue.message }
      })
    })
  )
}

/**
 * Helpers shared by the edge example's tests: NDJSON over fetch, action
 * batches with a known expected outcome, the bad-input table, and the
 * servers started with the test limits.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import type { EdgeConfig } from "../../examples/edge/app.ts"
import { type Runtime, type RunningServer, startServer as launch } from "./launch.ts"

export type { RunningServer }

/** Small limits and latencies so the suite stays fast; 500-action batches fit. */
export const testConfig: EdgeConfig = {
  runtime: "test",
  concurrency: 16,
  latencyMs: 1,
  maxBodyBytes: 64 * 1024,
  maxActions: 600,
  sequencerCapacity: 16,
  gapTimeoutMs: 200
}

/** The first response in `received`, once its head and `content-length` bytes of body are there. */
export const firstResponse = (received: string) => {
  const headEnd = received.indexOf("\r\n\r\n")
  if (headEnd < 0) return undefined
  const head = received.slice(0, headEnd)
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
  const body = received.slice(headEnd + 4, headEnd + 4 + length)
  return Buffer.byteLength(body) < length ? undefined : { status: Number(head.split(" ")[1]), body: JSON.parse(body) }
}

export const ndjson = (values: ReadonlyArray<unknown>): string => values.map((v) => JSON.stringify(v)).join("\n") + "\n"

/** Reads an NDJSON body line by line, as the lines arrive. */
export const lines = async function*(body: ReadableStream<Uint8Array>): AsyncGenerator<any> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      const parts = buffer.split("\n")
      buffer = parts.pop()!
      for (const part of parts) if (part !== "") yield JSON.parse(part)
    }
    if (buffer !== "") yield JSON.parse(buffer)
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}

export const readAll = async (response: Response): Promise<Array<any>> => {
  const all: Array<any> = []
  for await (const line of lines(response.body!)) all.push(line)
  return all
}

/**
 * 500 actions over 100 keys, each key in turn: place (quantity 1), update to
 * 2, cancel, cancel again (fails: no open order), place (quantity 5).
 * Every tenth action is slow so that actions finish out of order.
 */
export const lifecycleBatch = (prefix: string, keys = 100) => {
  const steps = [
    { type: "place", payload: { side: "buy", price: 10, quantity: 1 } },
    { type: "update", payload: { quantity: 2 } },
    { type: "cancel" },
    { type: "cancel" },
    { type: "place", payload: { side: "sell", price: 11, quantity: 5 } }
  ] as const
  const actions = Array.from({ length: keys * steps.length }, (_, i) => ({
    key: `${prefix}-${i % keys}`,
    ...steps[Math.floor(i / keys)],
    latencyMs: i % 10 === 0 ? 30 : 1
  }))
  /** What applying the actions one by one in input order yields: only the second cancel fails. */
  const expected = actions.map((_, i) => Math.floor(i / keys) === 3 ? "UnknownOrderError" : "ok")
  return { actions, expected, keys: Array.from({ length: keys }, (_, k) => `${prefix}-${k}`) }
}

/** A result line's outcome, comparable with `lifecycleBatch`'s `expected`. */
export const outcome = (result: any): string => result.ok ? "ok" : result.error._tag

interface BadInput {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly body?: string
  readonly status: number
  readonly json: Record<string, unknown>
}

const place = { key: "bad-1", type: "place", payload: { side: "buy", price: 10, quantity: 1 } }

/**
 * The bad-input table (examples/edge/README.md, "Bad input", shows the same): request, status and
 * the JSON body fields the response must carry. Limits are `testConfig`'s.
 */
export const badInputs: ReadonlyArray<BadInput> = [
  {
    name: "malformed JSON on line 2",
    method: "POST",
    path: "/actions",
    body: `${JSON.stringify(place)}\n{"key": "bad-2",\n`,
    status: 400,
    json: { line: 2 }
  },
  {
    name: "schema violation (quantity 0)",
    method: "POST",
    path: "/actions",
    body: ndjson([place, { ...place, key: "bad-3", payload: { ...place.payload, quantity: 0 } }]),
    status: 422,
    json: { error: "Invalid action", line: 2, path: ["payload", "quantity"] }
  },
  {
    name: "price not finite (1e999 parses to Infinity)",
    method: "POST",
    path: "/actions",
    body: `{"key":"bad-inf","type":"place","payload":{"side":"buy","price":1e999,"quantity":1}}\n`,
    status: 422,
    json: { line: 1, path: ["payload", "price"] }
  },
  {
    name: "unknown action type",
    method: "POST",
    path: "/actions",
    body: ndjson([{ key: "bad-4", type: "teleport" }]),
    status: 422,
    json: { line: 1, path: ["type"] }
  },
  {
    name: "body over the byte limit",
    method: "POST",
    path: "/actions",
    body: `${JSON.stringify(place)}\n${" ".repeat(testConfig.maxBodyBytes)}`,
    status: 413,
    json: { limit: { bytes: testConfig.maxBodyBytes } }
  },
  {
    name: "more actions than the limit",
    method: "POST",
    path: "/actions",
    body: ndjson(Array.from({ length: testConfig.maxActions + 1 }, (_, i) => ({ ...place, key: `bad-many-${i}` }))),
    status: 413,
    json: { limit: { actions: testConfig.maxActions }, actions: testConfig.maxActions + 1 }
  },
  {
    name: "unknown order query parameter",
    method: "POST",
    path: "/actions?order=sideways",
    body: ndjson([place]),
    status: 400,
    json: { parameter: "order" }
  },
  {
    name: "keyed: sequence not an integer ≥ 0",
    method: "POST",
    path: "/keys/bad-5/actions/-1",
    body: JSON.stringify({ type: "cancel" }),
    status: 400,
    json: { parameter: "sequence" }
  },
  {
    name: "keyed: schema violation (side missing)",
    method: "POST",
    path: "/keys/bad-6/actions/0",
    body: JSON.stringify({ type: "place", payload: { price: 1, quantity: 1 } }),
    status: 422,
    json: { path: ["payload", "side"] }
  },
  {
    name: "keyed: empty body",
    method: "POST",
    path: "/keys/bad-8/actions/0",
    body: "",
    status: 400,
    json: { error: "Empty body: expected one JSON action ({\"type\":…,\"payload\":…})" }
  },
  {
    name: "keyed: key longer than 128 characters",
    method: "POST",
    path: `/keys/${"k".repeat(129)}/actions/0`,
    body: JSON.stringify({ type: "cancel" }),
    status: 422,
    json: { path: ["key"] }
  },
  {
    name: "keyed: path parameter over the router's limit",
    method: "POST",
    path: `/keys/${"k".repeat(3000)}/actions/0`,
    body: JSON.stringify({ type: "cancel" }),
    status: 414,
    json: { limit: { pathParameter: 2048 } }
  },
  { name: "wrong method", method: "GET", path: "/actions", status: 405, json: { allowed: ["POST"] } },
  { name: "keyed: wrong method", method: "PUT", path: "/keys/bad-7/actions/0", status: 405, json: { allowed: ["POST"] } },
  { name: "unknown route", method: "GET", path: "/nope", status: 404, json: {} }
]

/**
 * The servers' gap timeout: a burst of requests on a loaded 2-core machine can
 * hold one request back for longer than `testConfig`'s 200 ms, which would
 * turn a late sequence into a gap.
 */
export const serverGapTimeoutMs = 1000

/** Starts `runtime`'s example server with `testConfig`'s limits (and `serverGapTimeoutMs`), plus `env`. */
export const startServer = (runtime: Runtime, env: Record<string, string> = {}): Promise<RunningServer> =>
  launch(runtime, {
    ...env,
    CONCURRENCY: String(testConfig.concurrency),
    LATENCY_MS: String(testConfig.latencyMs),
    MAX_BODY_BYTES: String(testConfig.maxBodyBytes),
    MAX_ACTIONS: String(testConfig.maxActions),
    SEQUENCER_CAPACITY: String(testConfig.sequencerCapacity),
    GAP_TIMEOUT_MS: String(serverGapTimeoutMs)
  })

/**
 * Starts `runtimes`' servers together before the file's tests (with
 * `startServer`'s limits) and kills them afterwards; the map fills in
 * `beforeAll`.
 */
export const serversFor = (runtimes: ReadonlyArray<Runtime>): ReadonlyMap<string, RunningServer> => {
  const servers = new Map<string, RunningServer>()
  beforeAll(async () => {
    const started = await Promise.allSettled(runtimes.map((runtime) => startServer(runtime)))
    for (const result of started) if (result.status === "fulfilled") servers.set(result.value.runtime, result.value)
    const failed = started.filter((result) => result.status === "rejected")
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason
  }, 60_000)
  afterAll(() => {
    for (const server of servers.values()) server.stop()
  })
  return servers
}

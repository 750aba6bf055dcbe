/**
 * The effect-4 handler on Node (`node:http`), each key in this process: `PORT` (default 8788),
 * `CONCURRENCY`, `LATENCY_MS`, `SEQUENCER_CAPACITY`, `GAP_TIMEOUT_MS`. Runs as an esbuild bundle
 * (test/edge-effect4/handler.test.ts) or with a project whose `effect` is effect 4.
 */
import { Effect } from "effect"
import { createServer } from "node:http"
import { Readable } from "node:stream"
import type { ReadableStream as WebReadableStream } from "node:stream/web"
import { type Keys, makeHandler } from "./app.ts"
import { configFromEnv, memoryStorage } from "./config.ts"
import { KeyState } from "./keys.ts"

const config = configFromEnv("node", process.env)
const states = new Map<string, Promise<KeyState>>()
const stateOf = (key: string) => {
  let state = states.get(key)
  if (state === undefined) {
    const made = new KeyState(key, memoryStorage(), config)
    state = made.load().then(() => made)
    states.set(key, state)
  }
  return state
}
const keys: Keys = {
  apply: (key, action) => Effect.promise(() => stateOf(key).then((state) => state.apply(action))),
  submit: (key, sequence, action) =>
    Effect.promise(() => stateOf(key).then((state) => state.submit(sequence, action, config.latencyMs))),
  order: (key) => Effect.promise(() => stateOf(key).then((state) => state.current))
}
const { handler } = makeHandler(keys, config)

const server = createServer(async (incoming, outgoing) => {
  const hasBody = incoming.method !== "GET" && incoming.method !== "HEAD"
  const response = await handler(
    new Request(`http://${incoming.headers.host}${incoming.url}`, {
      method: incoming.method!,
      headers: incoming.headers as Record<string, string>,
      body: hasBody ? Readable.toWeb(incoming) as ReadableStream : undefined,
      duplex: "half"
    } as RequestInit)
  )
  outgoing.statusCode = response.status
  response.headers.forEach((value, name) => outgoing.setHeader(name, value))
  if (response.body === null) outgoing.end()
  else Readable.fromWeb(response.body as WebReadableStream).pipe(outgoing)
})
// Longer than clients keep an idle connection (undici: 4 s), so a client never reuses one the server is closing.
server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT ?? 8788), "127.0.0.1", () => console.log(`Listening (node, effect 4)`))

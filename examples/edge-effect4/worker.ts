/**
 * The effect-4 handler on Cloudflare Workers (workerd): the worker runs the routes, and each key
 * lives in its Durable Object (`KeyObject`, bound as `KEYS`, addressed by `idFromName(key)`), where a
 * `KeyState` applies the key's actions and its `KeySequencer` reassembles the client-numbered ones:
 * workerd cancels a request that waits on a promise another request must resolve, while inside one
 * object requests may wait on each other. Configuration: text bindings named as `node.ts`'s variables.
 */
import { Effect } from "effect"
import { type Keys, makeHandler } from "./app.ts"
import { configFromEnv } from "./config.ts"
import { type Action, KeyState, type Order, type Outcome, type Reply } from "./keys.ts"
import type { KeySequencer } from "effect-ordered/workers"

/** The bindings: `KEYS` (the parts of the Workers runtime API used here) and the variables as text. */
interface Env {
  readonly KEYS: {
    idFromName(name: string): unknown
    get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> }
  }
  readonly [name: string]: unknown
}

/** Calls the key's object: `POST` with `body`, or `GET`; its answer is this file's, so trusted. */
const callObject = <A>(env: Env, key: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const init = body === undefined ? undefined : { method: "POST", body: JSON.stringify(body) }
    const response = await env.KEYS.get(env.KEYS.idFromName(key)).fetch(`https://object/${encodeURIComponent(key)}${path}`, init)
    return await response.json() as A
  })

const keysOf = (env: Env): Keys => ({
  apply: (key, action) => callObject<Outcome>(env, key, "/apply", action),
  submit: (key, sequence, action) => callObject<Reply>(env, key, `/sequences/${sequence}`, action),
  order: (key) => Effect.map(callObject<Order | null>(env, key, "/order"), (order) => order ?? undefined)
})

let handler: ((request: Request) => Promise<Response>) | undefined

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    handler ??= makeHandler(keysOf(env), configFromEnv("workerd", env)).handler
    return handler(request)
  }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/** One key: `POST /:key/apply`, `POST /:key/sequences/:sequence` (with the reply's status), `GET /:key/order`. */
export class KeyObject {
  private state: KeyState | undefined
  private readonly latencyMs: number

  constructor(
    private readonly object: {
      readonly storage: KeySequencer.DurableObjectStorage
      blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>
    },
    private readonly env: Env
  ) {
    this.latencyMs = configFromEnv("workerd", env).latencyMs
  }

  private async stateOf(key: string): Promise<KeyState> {
    if (this.state === undefined) {
      const state = new KeyState(key, this.object.storage, configFromEnv("workerd", this.env))
      await this.object.blockConcurrencyWhile(() => state.load())
      this.state ??= state
    }
    return this.state
  }

  async fetch(request: Request): Promise<Response> {
    const [, key, route, sequence] = new URL(request.url).pathname.split("/")
    const state = await this.stateOf(decodeURIComponent(key))
    if (route === "order") return json(state.current ?? null)
    const action = await request.json() as Action
    if (route === "apply") return json(await state.apply(action))
    const reply = await state.submit(Number(sequence), action, this.latencyMs)
    return json(reply, reply.status)
  }
}

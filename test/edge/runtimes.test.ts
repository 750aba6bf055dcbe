/**
 * The edge example over real HTTP on loopback: the same suite against the
 * Node, Deno and Bun servers and the workerd one (`worker.ts`, per-key Durable
 * Objects), each a child process on a free port, started together, killed
 * afterwards.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  badInputs,
  lifecycleBatch,
  lines,
  ndjson,
  outcome,
  readAll,
  serversFor
} from "./harness.ts"

const runtimes = ["node", "deno", "bun", "workerd"] as const
const servers = serversFor(runtimes)

const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()).actions

/** Polls `/healthz` until `done` holds, for at most 5 s; then returns the last snapshot (the caller asserts). */
const healthUntil = async (url: string, done: (actions: any) => boolean) => {
  let actions = await health(url)
  for (let attempt = 0; attempt < 100 && !done(actions); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    actions = await health(url)
  }
  return actions
}

/** Sends one keyed action; resolves with its status and JSON body. */
const sendKeyed = (url: string, key: string, sequence: number, action: object) =>
  fetch(`${url}/keys/${key}/actions/${sequence}`, { method: "POST", body: JSON.stringify(action) })
    .then(async (r) => ({ status: r.status, body: await r.json() }))

/** A key's life in sequence order: place, two updates, cancel. */
const keyedLife = [
  { type: "place", payload: { side: "buy", price: 1, quantity: 1 } },
  { type: "update", payload: { quantity: 2 } },
  { type: "update", payload: { quantity: 3 } },
  { type: "cancel" }
] as const

describe.each(runtimes)("edge server on %s", (runtime) => {
  const url = () => servers.get(runtime)!.url

  it("healthz names the runtime", async () => {
    const response = await fetch(`${url()}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ status: "ok", runtime })
  })

  it("500 actions with mixed latencies: results in input order, book as if applied one by one", async () => {
    const batch = lifecycleBatch(`${runtime}-500`)
    const response = await fetch(`${url()}/actions`, { method: "POST", body: ndjson(batch.actions) })
    expect(response.status).toBe(200)
    const results = await readAll(response)
    expect(results.map((r) => r.index)).toEqual(batch.actions.map((_, i) => i))
    expect(results.map(outcome)).toEqual(batch.expected)
    for (const key of batch.keys.slice(0, 5)) {
      expect(await (await fetch(`${url()}/orders/${key}`)).json()).toMatchObject({ quantity: 5 })
    }
  })

  it("streams early, and a client that goes away interrupts the action still running", async () => {
    const before = await health(url())
    const actions = [
      ...Array.from({ length: 49 }, (_, i) => ({ key: `${runtime}-early-${i}`, type: "cancel", latencyMs: 1 })),
      { key: `${runtime}-early-last`, type: "cancel", latencyMs: 60_000 }
    ]
    const controller = new AbortController()
    const response = await fetch(`${url()}/actions`, {
      method: "POST",
      body: ndjson(actions),
      signal: controller.signal
    })
    const received: Array<any> = []
    const results = lines(response.body!)
    // 49 of 50 lines arrive while the last action sleeps for a minute
    while (received.length < 49) received.push((await results.next()).value)
    expect(received.map((r) => r.index)).toEqual(actions.slice(0, 49).map((_, i) => i))
    controller.abort()
    await results.return(undefined).catch(() => undefined)
    const after = await healthUntil(url(), (actions) => actions.interrupted !== before.interrupted)
    expect(after.interrupted - before.interrupted).toBe(1)
    expect(after.inFlight).toBe(0)
  }, 20_000) // well under the last action's minute: a buffered response fails here

  it("keyed route: out-of-order sequences applied in order, duplicate 409", async () => {
    const key = `${runtime}-keyed`
    const cancel = sendKeyed(url(), key, 1, { type: "cancel" })
    const placed = await sendKeyed(url(), key, 0, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } })
    expect(placed).toMatchObject({ status: 200, body: { sequence: 0, ok: true } })
    expect(await cancel).toMatchObject({ status: 200, body: { sequence: 1, ok: true } })
    expect(await sendKeyed(url(), key, 1, { type: "cancel" })).toMatchObject({
      status: 409,
      body: { _tag: "DuplicateSequenceError", key, sequence: 1, next: 2 }
    })
  })

  it("keyed route: five keys at once, each sent last sequence first, each applied in sequence order", async () => {
    const keys = Array.from({ length: 5 }, (_, k) => `${runtime}-many-${k}`)
    const replies = await Promise.all(keys.map((key) =>
      Promise.all(keyedLife.map((_, i) => keyedLife.length - 1 - i).map((sequence) =>
        sendKeyed(url(), key, sequence, keyedLife[sequence]).then((reply) => ({ sequence, ...reply }))
      ))
    ))
    for (const [k, perKey] of replies.entries()) {
      // the quantity each action saw is the one of the actions before it: applied in sequence order
      expect(perKey.sort((a, b) => a.sequence - b.sequence)).toMatchObject(
        [1, 2, 3, 3].map((quantity, sequence) => ({
          status: 200,
          body: { key: keys[k], sequence, ok: true, order: { quantity } }
        }))
      )
      expect((await fetch(`${url()}/orders/${keys[k]}`)).status).toBe(404)
    }
  })

  it("keyed route: a gap answers 504 after the gap timeout, then the key goes on", async () => {
    const key = `${runtime}-gap`
    // sequence 0 never comes: 1 is released without being applied
    expect(await sendKeyed(url(), key, 1, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } }))
      .toMatchObject({ status: 504, body: { key, sequence: 1, missing: { from: 0, to: 0 } } })
    expect((await fetch(`${url()}/orders/${key}`)).status).toBe(404)
    expect(await sendKeyed(url(), key, 2, { type: "place", payload: { side: "buy", price: 1, quantity: 4 } }))
      .toMatchObject({ status: 200, body: { sequence: 2, ok: true, order: { quantity: 4 } } })
    expect(await sendKeyed(url(), key, 0, { type: "cancel" })).toMatchObject({
      status: 409,
      body: { _tag: "DuplicateSequenceError", next: 3 }
    })
  })

  it("keyed route: a burst of 20 keys, each sent out of order, all applied; nothing stays in flight", async () => {
    const keys = Array.from({ length: 20 }, (_, k) => `${runtime}-burst-${k}`)
    const replies = await Promise.all(keys.flatMap((key) =>
      [2, 1, 0].map((sequence) => sendKeyed(url(), key, sequence, keyedLife[sequence]))
    ))
    expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200))
    expect(replies.map((reply) => reply.body.ok)).toEqual(replies.map(() => true))
    for (const key of keys) {
      expect(await (await fetch(`${url()}/orders/${key}`)).json()).toMatchObject({ quantity: 3 })
    }
    expect((await healthUntil(url(), (actions) => actions.inFlight === 0)).inFlight).toBe(0)
  })

  it.each(badInputs)("bad input: $name → $status", async (bad) => {
    const response = await fetch(`${url()}${bad.path}`, {
      method: bad.method,
      ...(bad.body === undefined ? {} : { body: bad.body })
    })
    expect(response.status).toBe(bad.status)
    expect(response.headers.get("content-type")).toBe("application/json")
    const body = await response.json()
    expect(body).toMatchObject(bad.json)
    expect(typeof body.error).toBe("string")
  })

  it("at the end, nothing is in flight", async () => {
    expect((await healthUntil(url(), (actions) => actions.inFlight === 0)).inFlight).toBe(0)
  })
})

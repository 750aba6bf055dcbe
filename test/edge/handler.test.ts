/**
 * The edge example's web handler, in process: `Request` objects in,
 * `Response` objects out (no sockets). Costly steps that must finish in a
 * given order are gated on `Deferred`s, not on timings.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { makeWebHandler } from "../../examples/edge/app.ts"
import type { Action } from "../../examples/edge/domain.ts"
import { badInputs, lifecycleBatch, lines, ndjson, outcome, readAll, testConfig } from "./harness.ts"

type Step = (action: Action, index: number) => Effect.Effect<void>

const disposers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()))
})

/** A fresh handler (fresh order book); `step` replaces the simulated costly step. */
const makeHandler = (options?: { readonly step?: Step; readonly concurrency?: number }) => {
  const { dispose, handler } = makeWebHandler(
    { ...testConfig, concurrency: options?.concurrency ?? testConfig.concurrency },
    { step: options?.step }
  )
  disposers.push(dispose)
  const request = (path: string, init?: RequestInit) => handler(new Request(`http://edge.test${path}`, init))
  const post = (path: string, body: string, signal?: AbortSignal) =>
    request(path, { method: "POST", body, ...(signal ? { signal } : {}) })
  const health = async () => (await (await request("/healthz")).json()).actions
  return { request, post, health }
}

const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)

/** A place/cancel pair per key where each place's costly step finishes only after its cancel's. */
const cancelOvertakesPlace = (keys: number) => {
  const gates = new Map(Array.from({ length: keys }, (_, k) => [`k${k}`, Effect.runSync(Deferred.make<void>())]))
  const step: Step = (action) =>
    action.type === "place" ? Deferred.await(gates.get(action.key)!) : Deferred.succeed(gates.get(action.key)!, undefined)
  const actions = [...gates.keys()].flatMap((key) => [
    { key, type: "place", payload: { side: "buy", price: 10, quantity: 1 } },
    { key, type: "cancel" }
  ])
  return { step, body: ndjson(actions), keys: [...gates.keys()] }
}

describe("edge handler: POST /actions", () => {
  it("streams one line per action in input order, applied in input order", async () => {
    const { post, request } = makeHandler()
    const batch = lifecycleBatch("life")
    const response = await post("/actions", ndjson(batch.actions))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/x-ndjson")
    const results = await readAll(response)
    expect(results.map((r) => r.index)).toEqual(batch.actions.map((_, i) => i))
    expect(results.map((r) => r.line)).toEqual(batch.actions.map((_, i) => i + 1))
    expect(results.map(outcome)).toEqual(batch.expected)
    // every action finished exactly once (`finished` is its completion rank)
    expect(results.map((r) => r.finished).sort((a, b) => a - b)).toEqual(batch.actions.map((_, i) => i + 1))
    const order = await (await request(`/orders/${batch.keys[0]}`)).json()
    expect(order).toEqual({ key: batch.keys[0], side: "sell", price: 11, quantity: 5 })
  })

  it("sends the first line before the last action has finished", async () => {
    const gate = Effect.runSync(Deferred.make<void>())
    const { post } = makeHandler({
      step: (action) => action.key === "last" ? Deferred.await(gate) : Effect.void
    })
    const actions = [
      ...Array.from({ length: 9 }, (_, i) => ({ key: `early-${i}`, type: "cancel" })),
      { key: "last", type: "cancel" }
    ]
    const results = lines((await post("/actions", ndjson(actions))).body!)
    const received: Array<any> = []
    for (let i = 0; i < 9; i++) received.push((await results.next()).value)
    // nine lines arrived while the last action cannot finish
    expect(received.map((r) => r.key)).toEqual(actions.slice(0, 9).map((a) => a.key))
    await run(Deferred.succeed(gate, undefined))
    const last = await results.next()
    expect(last.value).toMatchObject({ key: "last", index: 9 })
    expect((await results.next()).done).toBe(true)
  })

  it("an aborted request interrupts its in-flight actions", async () => {
    const finalized = Effect.runSync(Ref.make(0))
    const concurrency = 4
    const { health, post } = makeHandler({
      concurrency,
      step: (_, index) => index === 0 ? Effect.void : Effect.ensuring(Effect.never, Ref.update(finalized, (n) => n + 1))
    })
    const controller = new AbortController()
    const actions = Array.from({ length: 10 }, (_, i) => ({ key: `abort-${i}`, type: "cancel" }))
    const response = await post("/actions", ndjson(actions), controller.signal)
    const reader = response.body!.getReader()
    expect((await reader.read()).done).toBe(false)
    // action 0 finished and its worker took action 4: actions 1..4 now hold the four workers
    for (let attempt = 0; attempt < 100 && (await health()).started < 1 + concurrency; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // what a server does when the client goes away: abort, and cancel the body
    controller.abort()
    await reader.cancel()
    expect(await run(Ref.get(finalized))).toBe(concurrency)
    expect(await health()).toEqual({ started: 1 + concurrency, finished: 1, interrupted: concurrency, inFlight: 0 })
  })

  it("order matters: unordered processing applies a cancel before its place and leaves the book wrong", async () => {
    const unordered = cancelOvertakesPlace(5)
    const none = makeHandler({ step: unordered.step })
    const noneResults = await readAll(await none.post("/actions?order=none", unordered.body))
    // each cancel came out before its place, found no order, and the place then left the order open
    for (const key of unordered.keys) {
      const forKey = noneResults.filter((r) => r.key === key)
      expect(forKey.map((r) => `${r.type}:${outcome(r)}`)).toEqual(["cancel:UnknownOrderError", "place:ok"])
    }
    for (const key of unordered.keys) expect((await none.request(`/orders/${key}`)).status).toBe(200)

    const ordered = cancelOvertakesPlace(5)
    const total = makeHandler({ step: ordered.step })
    const totalResults = await readAll(await total.post("/actions", ordered.body))
    expect(totalResults.map((r) => `${r.type}:${outcome(r)}`)).toEqual(
      ordered.keys.flatMap(() => ["place:ok", "cancel:ok"])
    )
    for (const key of ordered.keys) expect((await total.request(`/orders/${key}`)).status).toBe(404)
  })

  it("?order=key releases each key in its own input order, keys independent", async () => {
    const bDone = Effect.runSync(Deferred.make<void>())
    const step: Step = (action, index) =>
      action.key === "a" && index === 0
        ? Deferred.await(bDone)
        : action.key === "b" && action.type === "cancel"
        ? Deferred.succeed(bDone, undefined)
        : Effect.void
    const actions = [
      { key: "a", type: "place", payload: { side: "buy", price: 1, quantity: 1 } },
      { key: "b", type: "place", payload: { side: "buy", price: 2, quantity: 1 } },
      { key: "a", type: "update", payload: { quantity: 7 } },
      { key: "b", type: "cancel" }
    ]
    const keyed = await readAll(await makeHandler({ step }).post("/actions?order=key", ndjson(actions)))
    // a's place waits for b's cancel; b is not held behind it
    expect(keyed.map((r) => r.index)).toEqual([1, 3, 0, 2])
    expect(keyed.every((r) => r.ok)).toBe(true)
  })

  it("keeps the book across requests", async () => {
    const { post, request } = makeHandler()
    await readAll(await post("/actions", ndjson([{ key: "kept", type: "place", payload: { side: "buy", price: 3, quantity: 4 } }])))
    const [updated] = await readAll(await post("/actions", ndjson([{ key: "kept", type: "update", payload: { quantity: 9 } }])))
    expect(updated).toMatchObject({ ok: true, order: { key: "kept", quantity: 9 } })
    expect(await (await request("/orders/kept")).json()).toMatchObject({ quantity: 9 })
  })
})

describe("edge handler: POST /keys/:key/actions/:sequence", () => {
  const place = { type: "place", payload: { side: "buy", price: 10, quantity: 1 } }
  const keyed = (post: (path: string, body: string) => Promise<Response>, key: string, sequence: number, action: object) =>
    post(`/keys/${key}/actions/${sequence}`, JSON.stringify(action)).then(async (r) => ({ status: r.status, body: await r.json() }))

  it("applies a key's actions in sequence order, whatever order they arrive in, and answers each once applied", async () => {
    const { post, request } = makeHandler()
    const cancel = keyed(post, "seq", 1, { type: "cancel" })
    const update = keyed(post, "seq", 2, { type: "update", payload: { quantity: 3 } })
    const placed = await keyed(post, "seq", 0, place)
    expect(placed).toEqual({ status: 200, body: { key: "seq", sequence: 0, type: "place", ok: true, order: { key: "seq", side: "buy", price: 10, quantity: 1 } } })
    // the cancel, sent first, was applied after the place; the update after the cancel
    expect(await cancel).toMatchObject({ status: 200, body: { sequence: 1, ok: true } })
    expect(await update).toMatchObject({ status: 200, body: { sequence: 2, ok: false, error: { _tag: "UnknownOrderError" } } })
    expect((await request("/orders/seq")).status).toBe(404)
  })

  it("409 for a sequence already applied or already waiting, and for one beyond the window", async () => {
    const { post } = makeHandler()
    expect((await keyed(post, "dup", 0, place)).status).toBe(200)
    expect(await keyed(post, "dup", 0, place)).toMatchObject({
      status: 409,
      body: { _tag: "DuplicateSequenceError", key: "dup", sequence: 0, next: 1 }
    })
    const waiting = keyed(post, "dup", 2, { type: "cancel" })
    expect(await keyed(post, "dup", 2, { type: "cancel" })).toMatchObject({ status: 409, body: { _tag: "DuplicateSequenceError" } })
    expect(await keyed(post, "dup", 1 + testConfig.sequencerCapacity, { type: "cancel" })).toMatchObject({
      status: 409,
      body: { _tag: "SequenceOutOfWindowError", next: 1, capacity: testConfig.sequencerCapacity }
    })
    expect((await keyed(post, "dup", 1, { type: "update", payload: { quantity: 2 } })).status).toBe(200)
    expect(await waiting).toMatchObject({ status: 200, body: { sequence: 2, ok: true } })
  })

  it("takes keys up to the schema's 128 characters (longer than the router's default parameter limit)", async () => {
    const { post } = makeHandler()
    const key = "k".repeat(128)
    expect(await keyed(post, key, 0, place)).toMatchObject({ status: 200, body: { key, ok: true } })
  })

  it("504 when the sequences before an action never arrive: it is not applied, later ones are", async () => {
    const { post, request } = makeHandler()
    expect(await keyed(post, "gap", 1, place)).toMatchObject({
      status: 504,
      body: { key: "gap", sequence: 1, missing: { from: 0, to: 0 } }
    })
    expect((await request("/orders/gap")).status).toBe(404)
    expect(await keyed(post, "gap", 2, place)).toMatchObject({ status: 200, body: { sequence: 2, ok: true } })
    // the missing sequence was given up on: it arrives too late
    expect(await keyed(post, "gap", 0, { type: "cancel" })).toMatchObject({
      status: 409,
      body: { _tag: "DuplicateSequenceError" }
    })
    expect(await (await request("/orders/gap")).json()).toMatchObject({ key: "gap", quantity: 1 })
  })
})

describe("edge handler: bad input", () => {
  it.each(badInputs)("$name → $status", async (bad) => {
    const { health, request } = makeHandler()
    const response = await request(bad.path, { method: bad.method, ...(bad.body === undefined ? {} : { body: bad.body }) })
    expect(response.status).toBe(bad.status)
    expect(response.headers.get("content-type")).toBe("application/json")
    const body = await response.json()
    expect(body).toMatchObject(bad.json)
    expect(typeof body.error).toBe("string")
    // nothing ran: a bad batch is rejected whole, before any action is applied
    expect((await health()).started).toBe(0)
  })

  it.each([
    { name: "an empty body", init: { method: "POST", body: "" } },
    { name: "no body at all", init: { method: "POST" } },
    { name: "blank lines only", init: { method: "POST", body: "\n\r\n  \n" } }
  ])("POST /actions with $name: 200 and an empty NDJSON stream, nothing applied", async ({ init }) => {
    const { health, request } = makeHandler()
    const response = await request("/actions", init)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/x-ndjson")
    expect(await response.text()).toBe("")
    expect((await health()).started).toBe(0)
  })

  it("a keyed request with no body at all is 400, as an empty one", async () => {
    const { request } = makeHandler()
    const response = await request("/keys/k/actions/0", { method: "POST" })
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: "Empty body: expected one JSON action ({\"type\":…,\"payload\":…})" })
  })

  it("a bad line rejects the whole batch: earlier valid lines are not applied", async () => {
    const { post, request } = makeHandler()
    const response = await post(
      "/actions",
      ndjson([{ key: "half", type: "place", payload: { side: "buy", price: 1, quantity: 1 } }]) + "not json\n"
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ line: 2 })
    expect((await request("/orders/half")).status).toBe(404)
  })

  it("405 names the allowed methods in the Allow header", async () => {
    const response = await makeHandler().request("/healthz", { method: "DELETE" })
    expect(response.status).toBe(405)
    expect(response.headers.get("allow")).toBe("GET")
  })
})

describe("edge handler: other routes", () => {
  it("GET / serves the demo page", async () => {
    const response = await makeHandler().request("/")
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/html")
    expect(await response.text()).toContain("<title>effect-ordered: edge demo</title>")
  })

  it("GET /healthz reports the runtime and action counts", async () => {
    const response = await makeHandler().request("/healthz")
    expect(await response.json()).toEqual({
      status: "ok",
      runtime: "test",
      actions: { started: 0, finished: 0, interrupted: 0, inFlight: 0 }
    })
  })
})

describe("edge handler: configuration", () => {
  it("refuses at startup a WINDOW below CONCURRENCY, naming both", async () => {
    // Found in review: it was accepted, and every POST /actions then died mid-body.
    const { configFromEnv } = await import("../../examples/edge/services.ts")
    expect(() => configFromEnv("test", { CONCURRENCY: "16", WINDOW: "8" })).toThrow(
      "Expected env WINDOW to be an integer ≥ 16, got \"8\""
    )
    expect(configFromEnv("test", { CONCURRENCY: "16", WINDOW: "16" }).window).toBe(16)
  })
})

/**
 * The edge example over real HTTP on loopback: the Node, Deno and Bun servers
 * run as child processes on free ports, started together, killed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  badInputs,
  lifecycleBatch,
  lines,
  ndjson,
  outcome,
  readAll,
  type RunningServer,
  startServer
} from "./edge/harness.ts"

const runtimes = ["node", "deno", "bun"] as const
const servers = new Map<string, RunningServer>()

beforeAll(async () => {
  const started = await Promise.allSettled(runtimes.map(startServer))
  for (const result of started) if (result.status === "fulfilled") servers.set(result.value.runtime, result.value)
  const failed = started.filter((result) => result.status === "rejected")
  if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason
}, 60_000)

afterAll(() => {
  for (const server of servers.values()) server.stop()
})

const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()).actions

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
    let after = await health(url())
    for (let attempt = 0; attempt < 100 && after.interrupted === before.interrupted; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      after = await health(url())
    }
    expect(after.interrupted - before.interrupted).toBe(1)
    expect(after.inFlight).toBe(0)
  }, 20_000) // well under the last action's minute: a buffered response fails here

  it("keyed route: out-of-order sequences applied in order, duplicate 409", async () => {
    const key = `${runtime}-keyed`
    const send = (sequence: number, action: object) =>
      fetch(`${url()}/keys/${key}/actions/${sequence}`, { method: "POST", body: JSON.stringify(action) })
        .then(async (r) => ({ status: r.status, body: await r.json() }))
    const cancel = send(1, { type: "cancel" })
    const placed = await send(0, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } })
    expect(placed).toMatchObject({ status: 200, body: { sequence: 0, ok: true } })
    expect(await cancel).toMatchObject({ status: 200, body: { sequence: 1, ok: true } })
    expect(await send(1, { type: "cancel" })).toMatchObject({ status: 409, body: { _tag: "DuplicateSequenceError" } })
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
})

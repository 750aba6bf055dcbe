/**
 * Load shedding of the `node:http` servers (Node, Deno, Bun): a keyed
 * request beyond `MAX_UNREAD_REQUESTS` unread ones is answered 503 with
 * `Retry-After` and a JSON body, nothing applied, on a connection that stays
 * usable, and the same request sent again once the server caught up is
 * applied. Raw TCP, to hold a request unread (its body not sent) and to
 * resend on the same connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { once } from "node:events"
import { connect } from "node:net"
import { firstResponse } from "./harness.ts"
import { type Runtime, type RunningServer, startServer } from "./launch.ts"

const runtimes = ["node", "deno", "bun"] as const satisfies ReadonlyArray<Runtime>
const servers = new Map<Runtime, RunningServer>()

beforeAll(async () => {
  for (const runtime of runtimes) servers.set(runtime, await startServer(runtime, { MAX_UNREAD_REQUESTS: "1" }))
}, 60_000)

afterAll(() => {
  for (const server of servers.values()) server.stop()
})

/** A raw connection; `read` resolves with what arrived once `enough` of it did, and starts afresh. */
const open = async (port: number) => {
  const socket = connect(port, "127.0.0.1")
  await once(socket, "connect")
  let received = ""
  let check = () => {}
  socket.on("data", (data) => {
    received += data
    check()
  })
  const read = (enough: (received: string) => boolean) =>
    new Promise<string>((resolve) => {
      check = () => {
        if (!enough(received)) return
        const text = received
        received = ""
        check = () => {}
        resolve(text)
      }
      check()
    })
  return { write: (text: string) => socket.write(text), read, close: () => socket.destroy() }
}

const placeBody = JSON.stringify({ type: "place", payload: { side: "buy", price: 1, quantity: 1 } })
const head = (key: string, extra = "") =>
  `POST /keys/${key}/actions/0 HTTP/1.1\r\nHost: loopback\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${placeBody.length}\r\n${extra}\r\n`
const response = (received: string) => firstResponse(received) !== undefined

describe.each(runtimes)("edge server on %s over MAX_UNREAD_REQUESTS", (runtime) => {
  it("answers a keyed request 503 + Retry-After + JSON, applies nothing, and applies it when sent again on the same connection", async () => {
    const server = servers.get(runtime)!
    const port = Number(new URL(server.url).port)
    const prefix = `shed-${runtime}-${Date.now()}`
    // One request unread: its head is parsed (the server answers `Expect: 100-continue` just before the route gets
    // it), its body not sent yet.
    const held = await open(port)
    held.write(head(`${prefix}-held`, "Expect: 100-continue\r\n"))
    expect(await held.read((received) => received.includes("\r\n\r\n"))).toMatch(/^HTTP\/1\.1 100 /)

    const shed = await open(port)
    shed.write(head(`${prefix}-shed`) + placeBody)
    const answer = await shed.read(response)
    expect(answer).toMatch(/^HTTP\/1\.1 503 /)
    expect(answer).toMatch(/\r\nretry-after: 1\r\n/i)
    expect(answer).toMatch(/\r\ncontent-type: application\/json\r\n/i)
    expect(answer).not.toMatch(/\r\nconnection: close\r\n/i)
    expect(firstResponse(answer)).toEqual({
      status: 503,
      body: {
        error: "1 or more requests wait to be read: send this one again in 1 s",
        retryAfterSeconds: 1,
        limit: { unreadRequests: 1 }
      }
    })
    expect((await fetch(`${server.url}/orders/${prefix}-shed`)).status).toBe(404)

    // The unread request is read: the server has caught up.
    held.write(placeBody)
    expect(firstResponse(await held.read(response))).toMatchObject({ status: 200, body: { ok: true } })

    // The shed action, sent again on the same connection, is applied once (a 409 would mean it had been applied).
    shed.write(head(`${prefix}-shed`) + placeBody)
    expect(firstResponse(await shed.read(response))).toMatchObject({
      status: 200,
      body: { key: `${prefix}-shed`, sequence: 0, ok: true }
    })
    expect((await fetch(`${server.url}/orders/${prefix}-shed`)).status).toBe(200)
    held.close()
    shed.close()
  }, 30_000)
})

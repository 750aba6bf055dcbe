/**
 * Connections after an error answered before the body was read (413), on
 * the Node, Deno, Bun and workerd servers, over raw TCP so that what the
 * client writes and when is exact: the client must read the JSON error, and
 * its next request must work.
 */
import { describe, expect, it } from "@effect/vitest"
import { connect } from "node:net"
import { serversFor, testConfig } from "./harness.ts"

const runtimes = ["node", "deno", "bun", "workerd"] as const
const servers = serversFor(runtimes)

interface Exchange {
  /** Everything the server sent before it closed the connection (or before `until` matched). */
  readonly received: string
  /** A socket error the client saw (EPIPE, ECONNRESET), if any. */
  readonly error: string | undefined
}

/** One write, then (with `until`) a wait until what the connection received matches it. */
interface Step {
  readonly write: string
  readonly until?: ((received: string) => boolean) | undefined
}

/**
 * Runs `steps` on one connection and collects what comes back until the
 * server closes, `done` matches, or 10 s pass.
 */
const exchange = (url: string, steps: ReadonlyArray<Step>, done: (received: string) => boolean): Promise<Exchange> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname)
    let received = ""
    let error: string | undefined
    let waiting: (() => void) | undefined
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ received, error })
    }
    const timer = setTimeout(finish, 10_000)
    socket.on("data", (data) => {
      received += data.toString("latin1")
      waiting?.()
      if (done(received)) finish()
    })
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message
    })
    socket.on("close", finish)
    socket.on("connect", async () => {
      for (const step of steps) {
        if (socket.destroyed) return
        await new Promise<void>((written) => socket.write(step.write, () => written()))
        const until = step.until
        if (until !== undefined && !until(received)) {
          await new Promise<void>((matched) => waiting = () => until(received) && matched())
        }
      }
    })
  })

/** Well over the limit and over what socket buffers hold (4 MiB): the server must answer before reading it all. */
const oversize = "x".repeat(4 * 1024 * 1024)
const post = (headers: string) =>
  `POST /actions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${oversize.length}\r\n${headers}\r\n`
const healthz = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"

/** The status lines in what a connection received, in order. */
const statuses = (received: string) => [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]))

describe.each(runtimes)("connections after a 413 on %s", (runtime) => {
  const url = () => servers.get(runtime)!.url

  it("over-size body, then another request on the same keep-alive connection: 413 JSON, then the request is answered", async () => {
    const answered = (r: string) => r.includes(`"limit"`) && r.endsWith("}")
    const first = await exchange(url(), [{ write: post("") }, { write: oversize }], answered)
    expect(statuses(first.received)).toEqual([413])
    expect(first.received).toContain(`"bytes":${testConfig.maxBodyBytes}`)
    if (/\r\nconnection: close\r\n/i.test(first.received)) {
      // The server said it closes: the client's next request goes on a new connection.
      expect((await fetch(`${url()}/healthz`)).status).toBe(200)
    } else {
      // It kept reading: the next request on this connection is answered.
      const next = await exchange(
        url(),
        [{ write: post("") }, { write: oversize, until: answered }, { write: healthz }],
        (r) => statuses(r).length === 2 && r.endsWith("}")
      )
      expect(statuses(next.received)).toEqual([413, 200])
      expect(next.error).toBeUndefined()
    }
  }, 30_000)

  it("over-size body written in one go with Connection: close: the client reads the 413 JSON, no EPIPE or reset", async () => {
    const result = await exchange(url(), [{ write: post("Connection: close\r\n") + oversize }], () => false)
    expect(statuses(result.received)).toEqual([413])
    expect(result.received).toContain(`"bytes":${testConfig.maxBodyBytes}`)
    expect(result.error).toBeUndefined()
  }, 30_000)
})

/**
 * The example servers' defaults over real sockets on loopback: they bind
 * 127.0.0.1 unless told otherwise, a slowloris client is cut within the
 * documented bound, a body over `MAX_BODY_BYTES` gets its 413 (with its JSON
 * body) before the connection closes, and pipelined batches are all
 * answered. Raw TCP, because `fetch` cannot send a request slowly, stop in
 * the middle of one, or pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { firstResponse } from "./harness.ts"
import { type Runtime, type RunningServer, startServer } from "./launch.ts"

/** Short timeouts so the suite is quick; the defaults are 10 s and 30 s. */
const headersTimeoutMs = 1_000
const requestTimeoutMs = 2_000
const maxBodyBytes = 64 * 1024

/**
 * How long a runtime may take to cut a slow client, after which the test
 * fails: the timeout, plus the interval on which `node:http` checks it (1 s),
 * plus a margin for a loaded machine.
 */
const checkInterval = 1_000
const margin = 4_000

const runtimes = ["node", "deno", "bun"] as const satisfies ReadonlyArray<Runtime>
const servers = new Map<Runtime, RunningServer>()

beforeAll(async () => {
  const started = await Promise.allSettled(runtimes.map((runtime) =>
    startServer(runtime, {
      HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
      REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
      MAX_BODY_BYTES: String(maxBodyBytes)
    })
  ))
  for (const result of started) if (result.status === "fulfilled") servers.set(result.value.runtime, result.value)
  const failed = started.find((result) => result.status === "rejected")
  if (failed) throw (failed as PromiseRejectedResult).reason
}, 60_000)

afterAll(() => {
  for (const server of servers.values()) server.stop()
})

const portOf = (runtime: Runtime) => Number(new URL(servers.get(runtime)!.url).port)

/** Local addresses (hex, as the kernel prints them) of the sockets listening on `port`. */
const listeningAddresses = (port: number): Array<string> =>
  ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((file) =>
    readFileSync(file, "utf8").split("\n").slice(1).flatMap((line) => {
      const [, local, , state] = line.trim().split(/\s+/)
      if (local === undefined || state !== "0A") return [] // 0A: LISTEN
      const [address, hexPort] = local.split(":")
      return parseInt(hexPort, 16) === port ? [address] : []
    })
  )

/**
 * Opens a connection and lets `drive` write to it. Resolves with what the
 * server sent once the server closes the connection, or as soon as
 * `enough(received)`; rejects loudly if neither happens within `deadlineMs`.
 */
const exchange = (
  port: number,
  deadlineMs: number,
  drive: (socket: Socket) => () => void,
  enough: (received: string) => boolean = () => false
): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let received = ""
    let stopDriving = () => {}
    const finish = (outcome: () => void) => {
      clearTimeout(deadline)
      stopDriving()
      socket.destroy()
      outcome()
    }
    const deadline = setTimeout(() =>
      finish(() =>
        reject(new Error(`the server kept the connection open for ${deadlineMs} ms; received: ${JSON.stringify(received)}`))
      ), deadlineMs)
    socket.on("connect", () => stopDriving = drive(socket))
    socket.on("data", (data) => {
      received += data
      if (enough(received)) finish(() => resolve(received))
    })
    socket.on("error", () => {}) // a reset still closes the connection: "close" follows
    socket.on("close", () => finish(() => resolve(received)))
  })

/** Sends `text` one byte every 500 ms. */
const trickle = (socket: Socket, text: string) => {
  socket.write(text)
  const timer = setInterval(() => socket.write("a"), 500)
  return () => clearInterval(timer)
}

describe.each(runtimes)("edge server on %s", (runtime) => {
  it("listens on 127.0.0.1 only when HOST is not set", () => {
    expect(listeningAddresses(portOf(runtime))).toEqual(["0100007F"])
  })

  it("closes five slowloris connections (one header byte every 500 ms) within its bound", async () => {
    const closed = await Promise.all(Array.from({ length: 5 }, () =>
      exchange(
        portOf(runtime),
        headersTimeoutMs + checkInterval + margin,
        (socket) => trickle(socket, "GET /healthz HTTP/1.1\r\nHost: loopback\r\nX-Slow: ")
      )))
    for (const received of closed) {
      expect(received).toMatch(/^HTTP\/1\.1 408 /)
      // the same JSON error body as every other error
      expect(firstResponse(received)).toMatchObject({ status: 408, body: { error: expect.any(String), limit: { headersTimeoutMs } } })
    }
    expect((await fetch(`${servers.get(runtime)!.url}/healthz`)).status).toBe(200)
  }, 30_000)

  it("closes a connection whose body trickles in, at the request timeout", async () => {
    const received = await exchange(
      portOf(runtime),
      requestTimeoutMs + checkInterval + margin,
      (socket) => trickle(socket, "POST /actions HTTP/1.1\r\nHost: loopback\r\nContent-Length: 1000\r\n\r\n")
    )
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
    expect(firstResponse(received)).toMatchObject({ status: 408, body: { error: expect.any(String), limit: { requestTimeoutMs } } })
  }, 30_000)

  it("never applies a keyed action whose request was answered 408: the rest of its head, sent after the 408, is dropped", async () => {
    const key = `late-head-${runtime}-${Date.now()}`
    const body = JSON.stringify({ type: "place", payload: { side: "buy", price: 1, quantity: 1 } })
    const received = await exchange(portOf(runtime), headersTimeoutMs + checkInterval + margin, (socket) => {
      // the request line only; the rest of the head and the body come once the 408 is there (as under load,
      // when the server reads a head that arrived in time only after its timeout fired)
      socket.write(`POST /keys/${key}/actions/0 HTTP/1.1\r\n`)
      socket.once("data", () =>
        socket.write(`Host: loopback\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`))
      return () => {}
    })
    expect(firstResponse(received)).toMatchObject({ status: 408 })
    // a client told 408 resends the action: had the late request been applied, the resend would be a 409
    const resent = await fetch(`${servers.get(runtime)!.url}/keys/${key}/actions/0`, { method: "POST", body })
    expect(resent.status).toBe(200)
  }, 30_000)

  it("answers every one of 60 batches pipelined on one connection, in order", async () => {
    const count = 60
    const request = (i: number) => {
      const body = JSON.stringify({ key: `${runtime}-pipelined-${i}`, type: "cancel" })
      return `POST /actions HTTP/1.1\r\nHost: loopback\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    }
    const pattern = new RegExp(`"key":"${runtime}-pipelined-(\\d+)"`, "g")
    const received = await exchange(portOf(runtime), 20_000, (socket) => {
      socket.write(Array.from({ length: count }, (_, i) => request(i)).join(""))
      return () => {}
    }, (received) => [...received.matchAll(pattern)].length === count)
    expect([...received.matchAll(pattern)].map((match) => Number(match[1]))).toEqual(
      Array.from({ length: count }, (_, i) => i)
    )
  }, 30_000)

  it.each([
    { framing: "content-length", head: `Content-Length: ${64 * 64 * 1024}`, chunk: (data: string) => data, end: "" },
    {
      framing: "chunked",
      head: "Transfer-Encoding: chunked",
      chunk: (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`,
      end: "0\r\n\r\n"
    }
  ])("answers a body over MAX_BODY_BYTES ($framing) with its 413 and JSON body, not a reset", async ({ chunk, end, head }) => {
    const received = await exchange(portOf(runtime), requestTimeoutMs + checkInterval + margin, (socket) => {
      // 4 MB at once: over the limit and more than the socket buffers hold
      socket.write(`POST /actions HTTP/1.1\r\nHost: loopback\r\n${head}\r\n\r\n`)
      for (let i = 0; i < 64; i++) socket.write(chunk(" ".repeat(64 * 1024)))
      socket.write(end)
      return () => {}
    }, (received) => firstResponse(received) !== undefined)
    expect(firstResponse(received)).toEqual({
      status: 413,
      body: { error: `Body exceeds ${maxBodyBytes} bytes`, limit: { bytes: maxBodyBytes } }
    })
  }, 30_000)
})

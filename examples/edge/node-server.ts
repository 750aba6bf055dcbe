/**
 * The example served by `node:http` through `@effect/platform-node`, with the
 * timeouts of `listen.ts`. Node runs it (`node.ts`), and so do Deno
 * (`deno.ts`) and Bun (`bun.ts`): `Deno.serve` and `Bun.serve` have no header
 * or request timeout setting, their `node:http` enforces Node's.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { createServer, IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { Sequencer } from "../../src/index.ts"
import { app, configFromEnv, layer } from "./app.ts"
import { type ListenConfig, listenConfigFromEnv } from "./listen.ts"

/**
 * A request whose body the handler stops reading early (a body over
 * `MAX_BODY_BYTES`) is drained, not destroyed: destroying it resets the
 * socket, and a reset discards the 413 the client has not read yet. The rest
 * of the body is read and dropped while the response goes out; the request
 * timeout bounds how long that may take.
 */
class DrainingIncomingMessage extends IncomingMessage {
  override destroy(error?: Error): this {
    if (error !== undefined || this.complete || this.socket.destroyed) return super.destroy(error)
    this.resume()
    return this
  }
}

/**
 * A response sent before its request's body was read (a 413) closes the
 * connection: `Connection: close`, so the client sends its next request on
 * a new one and no runtime has to find where the unread body ends. Closing
 * at once would reset the connection while the client is still writing, and
 * a reset discards the answer it has not read yet; so the close lingers: the
 * server sends its FIN, reads and drops what still comes, and closes when the
 * client does or after `lingerMillis`.
 */
const closeAfterEarlyAnswer = (lingerMillis: number) => (request: IncomingMessage, response: ServerResponse): void => {
  const writeHead = response.writeHead
  response.writeHead = function(this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!request.complete) this.setHeader("connection", "close")
    return writeHead.apply(this, args)
  } as typeof writeHead
  const socket = request.socket as Socket & { destroySoon?: () => void }
  response.once("finish", () => {
    if (request.complete || socket.destroyed) return
    socket.destroySoon = () => {
      socket.end()
      socket.resume()
      const timer = setTimeout(() => socket.destroy(), lingerMillis)
      socket.once("close", () => clearTimeout(timer))
      socket.once("end", () => socket.destroy())
    }
  })
}

/**
 * Sockets answered by `answerClientError`. The answer ends the socket, but
 * the HTTP parser still reads what comes after it: the rest of a head that
 * was late (a 408 under load) would still become a request, and a client
 * told 408 would have its action applied. Such requests are dropped.
 */
const answered = new WeakSet<Duplex>()

/**
 * Makes `server` hand a request to its `request` listeners (the app) only
 * when `take` did not take it: `take` answers it itself, or drops it.
 */
const takeRequests = (
  server: Server,
  take: (request: IncomingMessage, response: ServerResponse) => boolean
): Server => {
  const emit = server.emit
  server.emit = function(this: Server, event: string | symbol, ...args: Array<unknown>) {
    if (event === "request" && take(args[0] as IncomingMessage, args[1] as ServerResponse)) return true
    return Reflect.apply(emit, this, [event, ...args])
  } as typeof server.emit
  return server
}

/**
 * Load shedding for the keyed route. The server is behind with its input
 * when many requests are accepted and not read: connections whose first
 * request head is not parsed yet (`unreadConnections`), and keyed requests
 * whose body was not read yet (by the app, which then offers it) and whose
 * connection is open. At `maxUnreadRequests`, a keyed request is answered
 * 503 with `Retry-After` as soon as its body arrived (read and dropped, so
 * the connection stays usable), nothing applied. That answer is cheap: during
 * a burst the server gets through what it accepted quickly and accepts
 * again, so fewer connections wait in the kernel's queue, unseen by the
 * sequencer, or are dropped from it (`holdAfterDroppedConnects` covers
 * those). The shed action is late, not missing: the
 * backlog is held for `Retry-After` + `HEADERS_TIMEOUT_MS`, the time its
 * client has to send it again.
 */
const shedWhenBehind = (listen: ListenConfig, backlog: Sequencer.Backlog, unreadConnections: () => number) => {
  let unreadBodies = 0
  const comeBack = Duration.sum(Duration.seconds(listen.retryAfterSeconds), Duration.millis(listen.headersTimeoutMs))
  const json = JSON.stringify({
    error: `${listen.maxUnreadRequests} or more requests wait to be read: send this one again in ${listen.retryAfterSeconds} s`,
    retryAfterSeconds: listen.retryAfterSeconds,
    limit: { unreadRequests: listen.maxUnreadRequests }
  })
  const answer = (response: ServerResponse) => () =>
    response.writeHead(503, "Service Unavailable", {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(json),
      "retry-after": String(listen.retryAfterSeconds)
    }).end(json)
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if (request.method !== "POST" || request.url?.startsWith("/keys/") !== true) return false
    if (unreadConnections() + unreadBodies >= listen.maxUnreadRequests) {
      Effect.runSync(Sequencer.holdGapsFor(backlog, comeBack))
      request.once("end", answer(response)).resume()
      return true
    }
    unreadBodies++
    let counted = true
    const read = () => {
      if (counted) unreadBodies--
      counted = false
    }
    request.once("end", read).once("close", read)
    return false
  }
}

/**
 * What `node:http` answers by itself, before any route runs: a request that
 * did not arrive within the header or request timeout (408), a head too
 * large (431), a request it cannot parse (400). The same JSON error body as
 * every other error, then the connection closes.
 */
const answerClientError = (listen: ListenConfig, backlog: Sequencer.Backlog) =>
(error: NodeJS.ErrnoException, socket: Duplex): void => {
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    // Under a burst the server, not the client, was slow: the client resends the shed request. Hold the gaps for as
    // long again as the server left it unread, so that a loaded client has that long to send it again.
    Effect.runSync(Sequencer.holdGapsFor(backlog, Duration.millis(listen.headersTimeoutMs)))
  }
  if (!socket.writable || (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage?.headersSent) {
    socket.destroy()
    return
  }
  const [status, reason, body] = error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? [408, "Request Timeout", {
      error: `The request head did not arrive within ${listen.headersTimeoutMs} ms, or the whole request within ${listen.requestTimeoutMs} ms`,
      limit: { headersTimeoutMs: listen.headersTimeoutMs, requestTimeoutMs: listen.requestTimeoutMs }
    }]
    : error.code === "HPE_HEADER_OVERFLOW"
    ? [431, "Request Header Fields Too Large", { error: "The request head is too large" }]
    : [400, "Bad Request", { error: `Malformed request: ${error.code ?? error.message}` }]
  answered.add(socket)
  const json = JSON.stringify(body)
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
      `Connection: close\r\n\r\n${json}`
  )
}

/**
 * A connection accepted and not yet read is input the keyed route's
 * sequencer has not seen: its missing action may be in it. It holds the
 * input backlog from the accept until its first request's head is parsed
 * (the route then holds it until its offer), or until it closes.
 */
const holdWhileUnread = (backlog: Sequencer.Backlog) => {
  const unread = new Map<Socket, () => void>()
  const read = (socket: Socket) => {
    unread.get(socket)?.()
    unread.delete(socket)
  }
  return {
    connection: (socket: Socket): void => {
      unread.set(socket, Sequencer.unsafeHoldGaps(backlog))
      socket.once("close", () => read(socket))
    },
    request: (request: IncomingMessage): void => read(request.socket as Socket),
    /** Connections accepted whose first request head is not parsed yet. */
    count: (): number => unread.size
  }
}

/**
 * How long a connect the kernel dropped may take to reach the server: Linux
 * retransmits a SYN 6 times (1, 3, 7, 15, 31, 63 s after the first) and
 * fails the connect at 127 s, after which the client sends it again.
 */
const kernelConnectTimeoutMs = 127_000

/**
 * Connects the kernel dropped because a listen queue was full, machine-wide
 * (Linux `TcpExtListenOverflows`); `undefined` where it cannot be read
 * (another OS, Deno without `--allow-read`).
 */
export const listenOverflows = (): number | undefined => {
  try {
    const [names, values] = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((line) => line.startsWith("TcpExt:"))
    const index = names.split(" ").indexOf("ListenOverflows")
    return index < 0 ? undefined : Number(values.split(" ")[index])
  } catch {
    return undefined
  }
}

/**
 * A full listen queue: shedding keeps the server accepting, but a connect
 * storm can still fill the kernel's queue faster than any server accepts,
 * and the kernel then drops connects. The server sees them only when a
 * retransmitted SYN finds room, or when their client sends them again after
 * the kernel's connect timeout. They are late, not missing: once a second
 * (Linux only) the server looks whether the kernel dropped connects, and if
 * so holds the input backlog for that timeout plus `HEADERS_TIMEOUT_MS`.
 */
const holdAfterDroppedConnects = (listen: ListenConfig, backlog: Sequencer.Backlog): void => {
  const dropped = Duration.millis(kernelConnectTimeoutMs + listen.headersTimeoutMs)
  let seen = listenOverflows()
  if (seen === undefined) return
  setInterval(() => {
    const now = listenOverflows() ?? 0
    if (now > seen!) Effect.runSync(Sequencer.holdGapsFor(backlog, dropped))
    seen = now
  }, 1_000).unref()
}

/** Serves the example until the process is stopped; `runtime` is what `GET /healthz` reports. */
export const serveWithNodeHttp = (runtime: string, env: Readonly<Record<string, string | undefined>>): void => {
  const listen = listenConfigFromEnv(env)
  const backlog = Effect.runSync(Sequencer.makeBacklog)
  const unread = holdWhileUnread(backlog)
  const shed = shedWhenBehind(listen, backlog, unread.count)
  holdAfterDroppedConnects(listen, backlog)
  const server = () =>
    takeRequests(createServer({
      IncomingMessage: DrainingIncomingMessage,
      headersTimeout: listen.headersTimeoutMs,
      requestTimeout: listen.requestTimeoutMs,
      keepAliveTimeout: listen.keepAliveTimeoutMs,
      // Node checks both timeouts on this interval (default 30 s): it bounds how late a cut can come.
      connectionsCheckingInterval: Math.min(1_000, listen.headersTimeoutMs)
    }).on("connection", unread.connection).on("request", closeAfterEarlyAnswer(listen.keepAliveTimeoutMs))
      .on("clientError", answerClientError(listen, backlog)), (request, response) => {
      unread.request(request)
      return answered.has(request.socket) || shed(request, response)
    })
  const Server = HttpServer.serve(app).pipe(
    HttpServer.withLogAddress,
    Layer.provide(layer(configFromEnv(runtime, env), { backlog })),
    Layer.provide(NodeHttpServer.layer(server, { port: listen.port, host: listen.host, backlog: listen.backlog }))
  )
  NodeRuntime.runMain(Layer.launch(Server))
}

/**
 * A TCP proxy that can hold traffic: while paused, bytes in both directions
 * are kept (not dropped, connections stay open) and delivered on resume —
 * a consumer cut off from Redis whose commands arrive late.
 */
import { createServer, type Socket, connect } from "node:net"

export interface Proxy {
  readonly url: string
  readonly pause: () => void
  readonly resume: () => void
  readonly close: () => Promise<void>
}

export const startProxy = (target: number): Promise<Proxy> => {
  let paused = false
  const held: Array<() => void> = []
  const sockets = new Set<Socket>()
  const forward = (from: Socket, to: Socket) =>
    from.on("data", (data) => {
      if (paused) held.push(() => to.write(data))
      else to.write(data)
    })
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1")
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("error", () => undefined)
      s.on("close", () => {
        client.destroy()
        upstream.destroy()
      })
    }
    forward(client, upstream)
    forward(upstream, client)
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resolve({
        url: `redis://127.0.0.1:${port}`,
        pause: () => {
          paused = true
        },
        resume: () => {
          paused = false
          for (const write of held.splice(0)) write()
        },
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      })
    })
  )
}

/**
 * Serves the edge example on Bun: `bun run serve` (or `bun examples/edge/bun.ts`)
 * (see `listen.ts` for HOST and PORT, `configFromEnv` for the rest).
 *
 * Bun has no setting for the header and request timeouts: it closes a
 * connection whose request head is still incomplete after about 10 s (its
 * own fixed bound), and a body that trickles in is not bounded (see
 * examples/edge/README.md, "Server defaults").
 */
import { configFromEnv, makeWebHandler } from "./app.ts"
import { listenConfigFromEnv } from "./listen.ts"

/** The part of the `Bun` global used here (the project type-checks with Node's types). */
interface BunGlobal {
  serve(options: {
    readonly hostname: string
    readonly port: number
    readonly idleTimeout?: number
    readonly fetch: (request: Request) => Promise<Response>
  }): { readonly url: URL }
}
const { Bun } = globalThis as unknown as { Bun: BunGlobal }

const listen = listenConfigFromEnv(process.env)
const { handler } = makeWebHandler(configFromEnv("bun", process.env))
const server = Bun.serve({
  hostname: listen.host,
  port: listen.port,
  // A batch may stream nothing for a while (a slow action at its head): don't cut idle connections.
  idleTimeout: 0,
  fetch: handler
})
console.log(`Listening on ${server.url}`)

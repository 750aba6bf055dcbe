/**
 * Serves the edge example on Bun: `bun run serve` (or `bun examples/edge/bun.ts`)
 * (PORT, default 8787; see `configFromEnv` for the rest).
 */
import { configFromEnv, makeWebHandler } from "./app.ts"

/** The part of the `Bun` global used here (the project type-checks with Node's types). */
interface BunGlobal {
  serve(options: {
    readonly port: number
    readonly idleTimeout?: number
    readonly fetch: (request: Request) => Promise<Response>
  }): { readonly url: URL }
}
const { Bun } = globalThis as unknown as { Bun: BunGlobal }

const { handler } = makeWebHandler(configFromEnv("bun", process.env))
const server = Bun.serve({
  port: Number(process.env.PORT ?? 8787),
  // A batch may stream nothing for a while (a slow action at its head): don't cut idle connections.
  idleTimeout: 0,
  fetch: handler
})
console.log(`Listening on ${server.url}`)

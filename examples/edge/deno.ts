/**
 * Serves the edge example on Deno: `deno task serve`
 * (PORT, default 8787; see `configFromEnv` for the rest).
 */
import { configFromEnv, makeWebHandler } from "./app.ts"

/** The part of the `Deno` global used here (the project type-checks with Node's types). */
interface DenoGlobal {
  readonly env: { toObject(): Record<string, string> }
  serve(
    options: { readonly port: number; readonly onListen?: (address: { hostname: string; port: number }) => void },
    handler: (request: Request) => Promise<Response>
  ): unknown
}
const { Deno } = globalThis as unknown as { Deno: DenoGlobal }

const env = Deno.env.toObject()
const { handler } = makeWebHandler(configFromEnv("deno", env))
Deno.serve({
  port: Number(env.PORT ?? 8787),
  onListen: ({ hostname, port }) => console.log(`Listening on http://${hostname}:${port}`)
}, handler)

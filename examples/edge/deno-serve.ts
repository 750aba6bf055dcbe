/**
 * The edge example as a `deno serve` module: `deno serve --allow-env
 * examples/edge/deno-serve.ts` (one isolate, served by `Deno.serve`: no header
 * or request timeouts; `deno task serve` serves the same app through
 * `node:http`, with them).
 *
 * `deno serve --parallel` is refused: it runs one isolate per thread, each
 * with its own order book and `Sequencer`, so a batch's orders and a key's
 * sequences would split across them (orders 404 on the other isolate, keyed
 * requests 504). The isolates find each other on a `BroadcastChannel`, and
 * the process stops with a message saying why.
 */
import { configFromEnv, makeWebHandler } from "./app.ts"

/** The part of the `Deno` global used here (the project type-checks with Node's types). */
interface DenoGlobal {
  readonly env: { toObject(): Record<string, string> }
  exit(code: number): never
}
const { Deno } = globalThis as unknown as { Deno: DenoGlobal }

const parallelRefusal = "deno serve --parallel splits the order book and the Sequencer across isolates " +
  "(orders 404 on another isolate, keyed requests 504): refusing to serve. Run `deno serve` without --parallel, " +
  "or `deno task serve`."

const isolates = new BroadcastChannel("effect-ordered/examples/edge/deno-serve")
isolates.onmessage = () => {
  console.error(parallelRefusal)
  Deno.exit(1)
}
isolates.postMessage("started")

const { handler } = makeWebHandler(configFromEnv("deno", Deno.env.toObject()))

export default { fetch: handler }

/**
 * Serves the edge example on Deno: `deno task serve`
 * (see `listen.ts` for HOST, PORT and the timeouts, `configFromEnv` for the rest).
 *
 * Through Deno's `node:http`, not `Deno.serve`: `Deno.serve` has no header or
 * request timeout (a slowloris connection stays open for good), Deno's
 * `node:http` enforces Node's `headersTimeout` and `requestTimeout`.
 */
import { serveWithNodeHttp } from "./node-server.ts"

serveWithNodeHttp("deno", process.env)

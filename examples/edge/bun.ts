/**
 * Serves the edge example on Bun: `bun run serve` (or `bun examples/edge/bun.ts`)
 * (see `listen.ts` for HOST, PORT and the timeouts, `configFromEnv` for the rest).
 *
 * Through Bun's `node:http`, not `Bun.serve`. `Bun.serve` (1.4.5) closes a
 * connection when a pipelined request arrives while a streamed or async
 * response is still open (1 of 60 pipelined batches answered), and has no
 * header or request timeout setting; Bun's `node:http` answers every
 * pipelined request and enforces Node's timeouts. Measured in
 * `bench/bun-pipelining.ts`; see examples/edge/README.md, "Bun pipelining".
 */
import { serveWithNodeHttp } from "./node-server.ts"

serveWithNodeHttp("bun", process.env)

/**
 * Serves the edge example on Node: `npm run serve`
 * (see `listen.ts` for HOST, PORT and the timeouts, `configFromEnv` for the rest).
 */
import { serveWithNodeHttp } from "./node-server.ts"

serveWithNodeHttp("node", process.env)

/**
 * Serves the edge example on Node with `@effect/platform-node`:
 * `npm run serve` (PORT, default 8787; see `configFromEnv` for the rest).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { app, configFromEnv, layer } from "./app.ts"

const port = Number(process.env.PORT ?? 8787)

const Server = HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(layer(configFromEnv("node", process.env))),
  Layer.provide(NodeHttpServer.layer(createServer, { port }))
)

NodeRuntime.runMain(Layer.launch(Server))

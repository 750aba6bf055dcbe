/**
 * effect-ordered's metrics and spans, exported with OpenTelemetry to the
 * console: a named pipeline (`options.name`) records Effect metrics and
 * spans, and `@effect/opentelemetry` hands them to any OpenTelemetry
 * exporter (here the console ones; a Prometheus or OTLP exporter plugs in
 * the same way).
 *
 * Run: npx tsx examples/metrics/main.ts
 */
import { NodeSdk } from "@effect/opentelemetry"
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Stream } from "effect"
import { Ordered, Sequencer } from "../../src/index.ts"

const TelemetryLive = NodeSdk.layer(() => ({
  resource: { serviceName: "orders" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter()),
  // Exported when the layer closes (and every minute while it runs).
  metricReader: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 })
}))

const pipeline = Stream.range(1, 8).pipe(
  Ordered.mapEffect((n) => Effect.as(Effect.sleep(`${(n * 7) % 10} millis`), n), { concurrency: 4, name: "orders" }),
  Stream.runDrain,
  Effect.withSpan("import-orders")
)

const reassembly = Effect.scoped(Effect.gen(function*() {
  const sequencer = yield* Sequencer.make<string>({ capacity: 8, name: "orders-in" })
  yield* sequencer.offer("order-17", 1, "cancel")
  yield* sequencer.offer("order-17", 0, "place")
  yield* Effect.either(sequencer.offer("order-17", 0, "place")) // a duplicate
}))

Effect.runPromise(Effect.provide(Effect.zipRight(pipeline, reassembly), TelemetryLive))

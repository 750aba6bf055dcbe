/**
 * How the demo (and the bench) name a row of `Simulation.compare` and a
 * hedging policy in their tables: labels are the reader's business, not the
 * library's.
 */
import { Ordered, type Simulation } from "../../src/index.ts"

/** `p95`, or `after 100 ms`. */
export const hedgeLabel = (hedge: NonNullable<Ordered.Options<number>["hedge"]>): string =>
  "quantile" in hedge ? `p${Math.round(hedge.quantile * 1000) / 10}` : `after ${String(hedge.after)} ms`

/** `3× (300)`, `unbounded` or `auto`: a window as a multiple of concurrency (as is under `concurrency: "auto"`). */
export const windowLabel = (window: number | "auto", concurrency: number | "auto"): string =>
  window === "auto"
    ? "auto"
    : window === Infinity
    ? "unbounded"
    : concurrency === "auto"
    ? `${window}`
    : `${window / concurrency}× (${window})${window === Ordered.defaults.windowFactor * concurrency ? ", auto's start" : ""}`

/**
 * A row's name, e.g. `Stream.mapEffect (concurrency 100)`,
 * `effect-ordered, window auto, hedge p95`.
 */
export const rowLabel = (row: Simulation.Row, options: Simulation.Options): string => {
  switch (row.strategy) {
    case "sequential":
      return "one at a time (sum of latencies)"
    case "Stream.mapEffect":
      return `Stream.mapEffect (concurrency ${row.concurrency}${
        options.order === "none" ? ", unordered" : options.keys !== undefined ? ", ignores keys" : ""
      })`
    case "unbounded":
      return "effect-ordered, window unbounded"
    case "effect-ordered":
      return `effect-ordered, ${
        row.concurrency === options.concurrency ? "" : `concurrency ${row.concurrency}, `
      }window ${windowLabel(row.window!, row.concurrency!)}${
        row.hedge === undefined ? "" : `, hedge ${hedgeLabel(row.hedge)}`
      }`
  }
}

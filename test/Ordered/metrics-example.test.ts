import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { root } from "../utils/entries.ts"

/** The block the console metric exporter prints for `name`, up to its value. */
const metricBlock = (output: string, name: string): string => {
  const at = output.indexOf(`name: '${name}'`)
  return at < 0 ? "" : output.slice(at, output.indexOf("value:", at) + 40)
}

describe("examples/metrics: OpenTelemetry export", () => {
  it("exports the named pipeline's and sequencer's metrics, and a span per action", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(root, "examples", "metrics", "main.ts")],
      { cwd: root, timeout: 60_000 }
    )
    // One span per action (8), each with its pipeline and index.
    const actions = stdout.match(/name: 'effect-ordered\.action'/g) ?? []
    expect(actions).toHaveLength(8)
    for (let index = 0; index < 8; index++) expect(stdout).toContain(`attributes: { pipeline: 'orders', index: ${index} }`)
    for (
      const name of [
        "effect_ordered_in_flight",
        "effect_ordered_window",
        "effect_ordered_emitted",
        "effect_ordered_action_duration_ms",
        "effect_ordered_emit_delay_ms"
      ]
    ) expect(metricBlock(stdout, name)).toContain("attributes: { pipeline: 'orders' }")
    expect(metricBlock(stdout, "effect_ordered_emitted")).toMatch(/value: 8\b/)
    expect(metricBlock(stdout, "effect_ordered_sequencer_duplicates")).toMatch(/pipeline: 'orders-in'[\s\S]*value: 1\b/)
    expect(metricBlock(stdout, "effect_ordered_sequencer_buffered")).toContain("pipeline: 'orders-in'")
  }, 90_000)
})

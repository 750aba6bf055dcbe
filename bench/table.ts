/** Small helpers shared by the bench scripts: tables, ratios, heap readings, pass/fail lines. */

export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly measured: string
}

export const check = (name: string, ok: boolean, measured: string): Check => ({ name, ok, measured })

/** `checks` as effect `line`'s: effect 4's named so. */
export const onLine = (line: 3 | 4, checks: ReadonlyArray<Check>): ReadonlyArray<Check> =>
  line === 3 ? checks : checks.map((c) => ({ ...c, name: `effect 4, ${c.name}` }))

/** An integer ≥ 1 given to a bench script as `name`, or an error naming it and what it got. */
export const positiveInteger = (name: string, value: string | undefined): number => {
  const parsed = Number(value)
  if (value !== undefined && /^\d+$/.test(value) && Number.isSafeInteger(parsed) && parsed >= 1) return parsed
  throw new Error(`Expected \`${name}\` to be an integer ≥ 1, got \`${value}\` (${typeof value})`)
}

export const ratio = (value: number, base: number): string =>
  base > 0 && Number.isFinite(value / base) ? `${(value / base).toFixed(value / base >= 10 ? 0 : 2)}×` : "–"

export const formatRate = (perSecond: number): string => Math.round(perSecond).toLocaleString("en-US")

export const formatBytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

export const formatMillis = (millis: number): string => `${Math.round(millis).toLocaleString("en-US")} ms`

/** Forces a full collection when node runs with --expose-gc (npm run bench does). */
export const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect !== undefined) {
    collect()
    collect()
  }
}

export const heapUsed = (): number => process.memoryUsage().heapUsed

/** CPU time this process has used (user and system, every thread: GC helpers too), in seconds. */
export const cpuSeconds = (): number => {
  const { system, user } = process.cpuUsage()
  return (user + system) / 1e6
}

/** Prints a Markdown table, so the output pastes into docs/benchmarks.md as is. */
export const printTable = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
  console.log(`\n### ${title}\n`)
  console.log(line(header))
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`)
  for (const row of rows) console.log(line(row))
}

export const printChecks = (checks: ReadonlyArray<Check>): boolean => {
  console.log("\n### Targets\n")
  for (const c of checks) console.log(`${c.ok ? "✓" : "✗"} ${c.name} (measured: ${c.measured})`)
  const failed = checks.filter((c) => !c.ok).length
  console.log(`\n${checks.length - failed} targets met, ${failed} missed`)
  return failed === 0
}

/** An NDJSON batch of the edge example: `size / 2` places, then their cancels, on keys `${prefix}-i` (leaves the book as it was). */
export const placeThenCancel = (size: number, prefix: string): string => {
  const lines: Array<string> = []
  for (let i = 0; i < size / 2; i++) {
    lines.push(JSON.stringify({ key: `${prefix}-${i}`, type: "place", payload: { side: "buy", price: 10, quantity: 1 } }))
  }
  for (let i = 0; i < size / 2; i++) lines.push(JSON.stringify({ key: `${prefix}-${i}`, type: "cancel" }))
  return lines.join("\n")
}

/**
 * Hand-written SVG charts for the demo: no dependency. They keep to what
 * every renderer draws alike (browsers, librsvg, ImageMagick's own): no
 * rotated text, no transforms, every rectangle's position spelled out, and
 * `stroke="none"` stated on the root (ImageMagick's renderer otherwise
 * outlines every shape in black).
 */
import type { Simulation } from "../../src/index.ts"

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"`
const RUN_COLOUR = "#2f6db5"
const WAIT_COLOUR = "#f0a030"
const FAIL_COLOUR = "#c62828"
const HEDGE_COLOUR = "#2e9d4f"
const STREAM_COLOUR = "#c62828"
const GRID_COLOUR = "#e4e4e4"
const TEXT_COLOUR = "#222"
const LIMIT_COLOUR = "#8e24aa"

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const num = (x: number): string => (Math.round(x * 100) / 100).toString()

const text = (x: number, y: number, content: string, attributes = ""): string =>
  `<text x="${num(x)}" y="${num(y)}" ${attributes}>${escape(content)}</text>`

/** About `count` round tick values from 0 to at least `max`. */
const ticks = (max: number, count: number): Array<number> => {
  const raw = Math.max(max, 1) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!
  const out: Array<number> = []
  for (let t = 0; t <= max + step * 1e-9; t += step) out.push(Math.round(t * 1e6) / 1e6)
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step)
  return out
}

const svg = (width: number, height: number, title: string, body: Array<string>): string =>
  [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="13" fill="${TEXT_COLOUR}" stroke="none">`,
    `<title>${escape(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    `</svg>`,
    ``
  ].join("\n")

/** A right-pointing triangle centred on (x, y), outlined in white so that it stands out on any bar. */
const marker = (x: number, y: number, colour: string): string =>
  `<path class="hedge-marker" d="M${num(x - 4)} ${num(y - 6)}L${num(x + 5)} ${num(y)}L${num(x - 4)} ${
    num(y + 6)
  }Z" fill="${colour}" stroke="#fff" stroke-width="1"/>`

type LegendItem = readonly [colour: string, label: string, swatch?: "dashed" | "line" | "marker"]

const legend = (x: number, y: number, items: ReadonlyArray<LegendItem>) => {
  const out: Array<string> = []
  let at = x
  for (const [colour, label, swatch] of items) {
    out.push(
      swatch === "dashed" || swatch === "line"
        ? `<line class="swatch" x1="${at}" y1="${y - 4}" x2="${at + 22}" y2="${y - 4}" stroke="${colour}" stroke-width="2.5"${
          swatch === "dashed" ? ` stroke-dasharray="6 3"` : ""
        }/>`
        : swatch === "marker"
        ? `<rect class="swatch" x="${at + 4}" y="${y - 7}" width="18" height="4" fill="${colour}"/>${marker(at + 4, y - 5, colour)}`
        : `<rect class="swatch" x="${at}" y="${y - 11}" width="22" height="12" fill="${colour}"/>`
    )
    out.push(text(at + 28, y, label))
    at += 28 + label.length * 7.2 + 26
  }
  return out.join("\n")
}

export interface TimelineInput {
  readonly title: string
  readonly subtitle: string
  readonly timeline: ReadonlyArray<Simulation.ActionTrace>
  readonly makespanMillis: number
  /** With `concurrency: "auto"`: the limit's changes, drawn as a step line on an axis of its own at the right. */
  readonly limitChanges?: ReadonlyArray<{ readonly atMillis: number; readonly limit: number }> | undefined
}

/**
 * The concurrency limit over the plot: a step line (white underneath, so
 * that it reads over any bar), its axis at the right with horizontal labels,
 * and the axis title above it.
 */
const limitLine = (
  changes: ReadonlyArray<{ readonly atMillis: number; readonly limit: number }>,
  plot: { readonly left: number; readonly top: number; readonly width: number; readonly height: number },
  x: (ms: number) => number,
  endMillis: number
): Array<string> => {
  const shown = changes.filter((c) => c.atMillis <= endMillis)
  const axis = ticks(Math.max(...shown.map((c) => c.limit)), 5)
  const y = (limit: number) => plot.top + plot.height - (limit / axis[axis.length - 1]) * plot.height
  const right = plot.left + plot.width
  const steps = shown.map((c, i) => `${i === 0 ? "M" : "H"}${num(x(c.atMillis))}${i === 0 ? " " : "V"}${num(y(c.limit))}`)
  const d = `${steps.join("")}H${num(x(endMillis))}`
  return [
    `<path d="${d}" fill="none" stroke="#fff" stroke-width="4.5"/>`,
    `<path class="limit" d="${d}" fill="none" stroke="${LIMIT_COLOUR}" stroke-width="2"/>`,
    ...axis.map((t) =>
      `<line x1="${right}" y1="${num(y(t))}" x2="${right + 5}" y2="${num(y(t))}" stroke="${LIMIT_COLOUR}"/>` +
      text(right + 8, y(t) + 4, `${t}`, `font-size="11" fill="${LIMIT_COLOUR}"`)
    ),
    // Above the axis rather than rotated: not every renderer rotates text about a point.
    text(right + 40, plot.top - 8, "concurrency limit", `text-anchor="end" fill="${LIMIT_COLOUR}"`)
  ]
}

/**
 * One row per action, in input order: its run (start → finish), its hedged
 * copy if one started (from the copy's start to the finish, with a marker
 * where it starts), and its wait for earlier actions (finish → emit), on a
 * labelled time axis.
 */
export const timelineSvg = (input: TimelineInput): string => {
  const rows = input.timeline
  const rowHeight = Math.max(3, Math.min(14, Math.floor(720 / rows.length)))
  const left = 78
  const top = 108
  const plotWidth = 1000
  const plotHeight = rows.length * rowHeight
  const limited = input.limitChanges !== undefined && input.limitChanges.length > 0
  // Room for the limit's axis labels at the right.
  const width = left + plotWidth + (limited ? 50 : 30)
  const height = top + plotHeight + 62
  const end = Math.max(1, ...rows.map((r) => r.emitMillis ?? r.finishMillis ?? r.startMillis ?? 0))
  const axis = ticks(end, 10)
  const scale = plotWidth / axis[axis.length - 1]
  const x = (ms: number) => left + ms * scale
  const body: Array<string> = []
  body.push(text(left, 28, input.title, `font-size="18" font-weight="600"`))
  body.push(text(left, 50, input.subtitle, `fill="#555"`))
  const hasFailure = rows.some((r) => r.failed)
  const hasHedge = rows.some((r) => r.hedgeStartMillis !== undefined)
  body.push(legend(left, 76, [
    [RUN_COLOUR, "running (the action's latency)"],
    [WAIT_COLOUR, "finished, waiting for an earlier action"],
    ...(hasHedge ? [[HEDGE_COLOUR, "hedged copy, from the marker", "marker"] as const] : []),
    ...(hasFailure ? [[FAIL_COLOUR, "failed"] as const] : []),
    ...(limited ? [[LIMIT_COLOUR, "concurrency limit", "line"] as const] : [])
  ]))
  for (const t of axis) {
    body.push(
      `<line x1="${num(x(t))}" y1="${top}" x2="${num(x(t))}" y2="${top + plotHeight}" stroke="${GRID_COLOUR}"/>`,
      text(x(t), top + plotHeight + 18, `${t}`, `text-anchor="middle"`)
    )
  }
  body.push(text(left + plotWidth / 2, top + plotHeight + 44, "simulated time (ms)", `text-anchor="middle"`))
  const yStep = ticks(rows.length, 10)[1]
  for (let i = 0; i < rows.length; i += yStep) {
    body.push(text(left - 8, top + i * rowHeight + rowHeight, `${rows[i].index}`, `text-anchor="end" font-size="11"`))
  }
  // Above the row numbers rather than rotated: not every renderer rotates text about a point.
  body.push(text(8, top - 8, "action (input order)"))
  const barHeight = Math.max(2, rowHeight - 1)
  const bar = (from: number, to: number, y: number, fill: string, attributes = "") =>
    `<rect ${attributes}x="${num(x(from))}" y="${num(y)}" width="${num(Math.max(1, (to - from) * scale))}" height="${barHeight}" fill="${fill}"/>`
  const markers: Array<string> = []
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    const y = top + i * rowHeight
    const parts: Array<string> = []
    if (row.startMillis !== undefined) {
      const finish = row.finishMillis ?? input.makespanMillis
      const copyFrom = row.hedgeStartMillis ?? finish
      parts.push(bar(row.startMillis, copyFrom, y, row.failed ? FAIL_COLOUR : RUN_COLOUR))
      if (row.hedgeStartMillis !== undefined) {
        // The copy runs beside the first attempt until one of them finishes.
        parts.push(bar(row.hedgeStartMillis, finish, y, HEDGE_COLOUR, `class="hedge" `))
        markers.push(marker(x(row.hedgeStartMillis), y + barHeight / 2, HEDGE_COLOUR))
      }
      if (row.finishMillis !== undefined && row.emitMillis !== undefined && row.emitMillis > row.finishMillis) {
        parts.push(bar(row.finishMillis, row.emitMillis, y, WAIT_COLOUR))
      }
    }
    body.push(`<g class="action" data-index="${row.index}">${parts.join("")}</g>`)
  }
  body.push(
    `<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
    // Over every row, so that a neighbour's bar never hides one.
    ...markers,
    ...(limited
      ? limitLine(input.limitChanges!, { left, top, width: plotWidth, height: plotHeight }, x, Math.min(axis[axis.length - 1], input.makespanMillis))
      : [])
  )
  return svg(width, height, input.title, body)
}

export interface WindowPanel {
  readonly label: string
  /** Makespan per window, in the order of `WindowInput.windows`. */
  readonly ordered: ReadonlyArray<number>
  readonly stream: number
}

export interface WindowInput {
  readonly title: string
  readonly subtitle: string
  /** Bar labels, e.g. `1× (100)`, `∞`. */
  readonly windows: ReadonlyArray<string>
  /** What the windows are multiples of, in the axis title. Default: `concurrency`. */
  readonly unit?: string | undefined
  /** Index of the default window's bar, drawn darker. */
  readonly defaultIndex: number
  readonly panels: ReadonlyArray<WindowPanel>
}

/**
 * Makespan against window size, one panel per latency model: effect-ordered
 * as bars, Effect's `Stream.mapEffect` as a dashed line.
 */
export const windowSvg = (input: WindowInput): string => {
  const panelWidth = 480
  const panelHeight = 340
  const left = 80
  const top = 140
  const gap = 90
  const width = left + input.panels.length * panelWidth + (input.panels.length - 1) * gap + 30
  const height = top + panelHeight + 80
  const body: Array<string> = []
  body.push(text(left, 28, input.title, `font-size="18" font-weight="600"`))
  body.push(text(left, 50, input.subtitle, `fill="#555"`))
  body.push(legend(left, 80, [
    [RUN_COLOUR, "effect-ordered, by window"],
    ["#1b3f6e", "default window"],
    [STREAM_COLOUR, "Stream.mapEffect (no window)", "dashed"]
  ]))
  input.panels.forEach((panel, p) => {
    const x0 = left + p * (panelWidth + gap)
    const max = Math.max(panel.stream, ...panel.ordered)
    const axis = ticks(max * 1.08, 6)
    const y = (ms: number) => top + panelHeight - (ms / axis[axis.length - 1]) * panelHeight
    body.push(`<g class="panel">`)
    body.push(text(x0 + panelWidth / 2, top - 32, panel.label, `text-anchor="middle" font-size="15" font-weight="600"`))
    for (const t of axis) {
      body.push(
        `<line x1="${x0}" y1="${num(y(t))}" x2="${x0 + panelWidth}" y2="${num(y(t))}" stroke="${GRID_COLOUR}"/>`,
        text(x0 - 8, y(t) + 4, `${t}`, `text-anchor="end" font-size="12"`)
      )
    }
    // Above the axis rather than rotated: not every renderer rotates text about a point.
    body.push(text(x0 - 56, top - 10, "makespan (simulated ms)"))
    const slot = panelWidth / panel.ordered.length
    const barWidth = slot * 0.6
    panel.ordered.forEach((ms, i) => {
      const bx = x0 + i * slot + (slot - barWidth) / 2
      body.push(
        `<rect class="bar" x="${num(bx)}" y="${num(y(ms))}" width="${num(barWidth)}" height="${
          num(top + panelHeight - y(ms))
        }" fill="${i === input.defaultIndex ? "#1b3f6e" : RUN_COLOUR}"/>`,
        text(bx + barWidth / 2, y(ms) - 5, `${Math.round(ms)}`, `text-anchor="middle" font-size="12"`),
        text(bx + barWidth / 2, top + panelHeight + 18, input.windows[i], `text-anchor="middle" font-size="12"`)
      )
      if (i === input.defaultIndex) {
        body.push(text(bx + barWidth / 2, top + panelHeight + 33, "default", `text-anchor="middle" font-size="12" font-weight="600"`))
      }
    })
    body.push(
      `<line x1="${x0}" y1="${num(y(panel.stream))}" x2="${x0 + panelWidth}" y2="${
        num(y(panel.stream))
      }" stroke="${STREAM_COLOUR}" stroke-width="2.5" stroke-dasharray="6 3"/>`,
      text(x0 + panelWidth - 4, y(panel.stream) - 6, `Stream.mapEffect: ${Math.round(panel.stream)}`, `text-anchor="end" font-size="12" fill="${STREAM_COLOUR}"`),
      `<line x1="${x0}" y1="${top + panelHeight}" x2="${x0 + panelWidth}" y2="${top + panelHeight}" stroke="#999"/>`,
      text(x0 + panelWidth / 2, top + panelHeight + 56, `window (× ${input.unit ?? "concurrency"})`, `text-anchor="middle"`)
    )
    body.push(`</g>`)
  })
  return svg(width, height, input.title, body)
}

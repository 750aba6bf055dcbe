/**
 * The demo's pictures as people see them: both SVGs rendered to PNG by
 * librsvg (`rsvg-convert`, what ImageMagick and many viewers delegate to)
 * and by Chromium (an `<img>`, as a README page shows them), then read back
 * pixel by pixel. Positions come from the SVG itself; labels are found by
 * rendering the picture again without one and seeing where pixels changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { inflateSync } from "node:zlib"
import { type Browser, chromium, type Page } from "playwright-core"
import { timelineSvg, windowSvg } from "../../examples/demo/svg.ts"
import { Simulation } from "../../src/index.ts"

interface Picture {
  readonly width: number
  readonly height: number
  /** Rows of `channels` bytes per pixel, as decoded. */
  readonly pixels: Buffer
  readonly channels: number
  /** Red, green and blue of the pixel at (x, y), alpha composed over white. */
  readonly rgb: (x: number, y: number) => readonly [number, number, number]
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what both renderers write). */
const decodePng = (png: Buffer): Picture => {
  let at = 8
  let width = 0
  let height = 0
  let channels = 0
  const data: Array<Buffer> = []
  while (at < png.length) {
    const length = png.readUInt32BE(at)
    const type = png.toString("latin1", at + 4, at + 8)
    const chunk = png.subarray(at + 8, at + 8 + length)
    if (type === "IHDR") {
      width = chunk.readUInt32BE(0)
      height = chunk.readUInt32BE(4)
      const [depth, colourType, , , interlace] = chunk.subarray(8)
      if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colourType}, interlace ${interlace}`)
      }
      channels = colourType === 6 ? 4 : 3
    }
    if (type === "IDAT") data.push(chunk)
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(data))
  const stride = width * channels
  const pixels = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    for (let i = 0; i < stride; i++) {
      const value = raw[y * (stride + 1) + 1 + i]
      const a = i >= channels ? pixels[y * stride + i - channels] : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0
      const c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels] : 0
      const p = a + b - c
      const predictor = filter === 0
        ? 0
        : filter === 1
        ? a
        : filter === 2
        ? b
        : filter === 3
        ? (a + b) >> 1
        : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
        ? b
        : c
      pixels[y * stride + i] = (value + predictor) & 0xff
    }
  }
  return {
    width,
    height,
    pixels,
    channels,
    rgb: (x, y) => {
      const i = Math.floor(y) * stride + Math.floor(x) * channels
      const alpha = channels === 4 ? pixels[i + 3] / 255 : 1
      const over = (v: number) => Math.round(v * alpha + 255 * (1 - alpha))
      return [over(pixels[i]), over(pixels[i + 1]), over(pixels[i + 2])]
    }
  }
}

const attribute = (element: string, name: string): string | undefined =>
  element.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1]

const numeric = (element: string, name: string): number => Number(attribute(element, name))

const hex = (colour: string): readonly [number, number, number] => {
  const digits = colour.length === 4 ? [...colour.slice(1)].map((d) => d + d) : colour.slice(1).match(/../g)!
  return [0, 1, 2].map((i) => parseInt(digits[i], 16)) as unknown as readonly [number, number, number]
}

const near = (actual: readonly [number, number, number], expected: readonly [number, number, number], tolerance = 24) =>
  actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance)

/** Where `element` (a `<rect>`, a dashed `<line>` or a marker `<path>`) must show its own colour. */
const inside = (element: string): readonly [number, number] => {
  if (element.startsWith("<line")) return [numeric(element, "x1") + 2, numeric(element, "y1")]
  if (element.startsWith("<path")) {
    // M left top L tip middle L left bottom: the centroid.
    const [left, , tip, middle] = attribute(element, "d")!.match(/-?[\d.]+/g)!.map(Number)
    return [(2 * left + tip) / 3, middle]
  }
  return [numeric(element, "x") + numeric(element, "width") / 2, numeric(element, "y") + numeric(element, "height") / 2]
}

const elements = (svg: string, pattern: RegExp): Array<string> => [...svg.matchAll(pattern)].map((m) => m[0])

const TEXT = /<text\b[^>]*>([^<]*)<\/text>/g

interface Box {
  minX: number
  minY: number
  maxX: number
  maxY: number
  count: number
}

/** The bounding box of the pixels that differ between two renderings of the same size and format. */
const changed = (a: Picture, b: Picture): Box => {
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity, count: 0 }
  const { channels, pixels: pa } = a
  const pb = b.pixels
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      let differs = false
      for (let i = (y * a.width + x) * channels, end = i + channels; i < end && !differs; i++) {
        differs = Math.abs(pa[i] - pb[i]) > 16
      }
      if (!differs) continue
      box.count++
      box.minX = Math.min(box.minX, x)
      box.maxX = Math.max(box.maxX, x)
      box.minY = Math.min(box.minY, y)
      box.maxY = Math.max(box.maxY, y)
    }
  }
  return box
}

type Render = (svg: string) => Promise<Picture>

const librsvg: Render = (svg) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      "rsvg-convert",
      ["--format", "png"],
      { encoding: "buffer", maxBuffer: 64 << 20 },
      (error, png) => error ? reject(error) : resolve(decodePng(png))
    )
    child.stdin!.end(svg)
  })

let browser: Browser
let page: Page

const inChromium: Render = async (svg) => {
  const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1])
  const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1])
  await page.setViewportSize({ width, height })
  const source = `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`
  await page.setContent(`<body style="margin:0"><img style="display:block" src="${source}"></body>`)
  await page.waitForFunction(() => document.images[0].complete && document.images[0].naturalWidth > 0)
  return decodePng(await page.screenshot({ clip: { x: 0, y: 0, width, height } }))
}

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
  })
  page = await browser.newPage()
}, 60_000)

afterAll(async () => {
  await browser?.close()
})

/** The first 200 of 300 heavy-tailed actions, hedged at p90: rows 3 px high, a few copies. */
const timeline = Effect.runSync(Effect.map(
  Simulation.run({
    actions: 300,
    concurrency: 20,
    latency: Simulation.Latency.logNormal(20, 1.2),
    seed: 3,
    hedge: { quantile: 0.9 }
  }),
  (report) =>
    timelineSvg({
      title: "effect-ordered timeline: first 200 of 300 actions",
      subtitle: "concurrency 20, hedge p90",
      timeline: report.timeline.slice(0, 200),
      makespanMillis: report.makespanMillis
    })
))

/** 1500 actions under "auto" against a downstream of capacity 40 that drops to 15 at 500 ms: the limit's step line. */
const limited = Effect.runSync(Effect.map(
  Simulation.run({
    actions: 1500,
    concurrency: "auto",
    maxConcurrency: 200,
    latency: Simulation.Latency.server({
      capacity: 40,
      latency: Simulation.Latency.logNormal(20, 0.5),
      capacityChanges: [{ atMillis: 500, capacity: 15 }]
    }),
    seed: 1
  }),
  (report) =>
    timelineSvg({
      title: "effect-ordered timeline: first 600 of 1500 actions",
      subtitle: "concurrency auto, capacity 40, 15 from 500 ms",
      timeline: report.timeline.slice(0, 600),
      makespanMillis: report.makespanMillis,
      limitChanges: report.concurrencyLimit!.changes
    })
))

/** The midpoints of a step path's horizontal runs (`M x y`, then `H x` and `V y` in turn) at least `min` px long. */
const horizontalRuns = (d: string, min: number): Array<readonly [number, number]> => {
  const [, x0, y0] = /^M([\d.]+) ([\d.]+)/.exec(d)!.map(Number)
  const out: Array<readonly [number, number]> = []
  let [x, y] = [x0, y0]
  for (const [, command, value] of d.slice(d.indexOf("H")).matchAll(/([HV])([\d.]+)/g)) {
    if (command === "V") {
      y = Number(value)
      continue
    }
    if (Number(value) - x >= min) out.push([(x + Number(value)) / 2, y])
    x = Number(value)
  }
  return out
}

const window = windowSvg({
  title: "Makespan against window size",
  subtitle: "simulated; lower is better",
  windows: ["1×", "3×", "∞", "auto"],
  defaultIndex: 3,
  panels: [
    { label: "uniform 0–99 ms", ordered: [966, 552, 552, 552], stream: 963 },
    { label: "heavy-tailed", ordered: [3654, 2277, 1029, 1029], stream: 3654 }
  ]
})

/** Every label named here renders, horizontally, where its anchor puts it. */
const expectLabels = async (render: Render, svg: string, labels: ReadonlyArray<string>) => {
  const full = await render(svg)
  const texts = [...svg.matchAll(TEXT)].filter((m) => labels.includes(m[1]))
  expect(new Set(texts.map((m) => m[1]))).toEqual(new Set(labels))
  for (const match of texts) {
    const [element, content] = match
    const box = changed(full, await render(svg.slice(0, match.index) + svg.slice(match.index + element.length)))
    const fontSize = Number(attribute(element, "font-size") ?? 13)
    const [x, y] = [numeric(element, "x"), numeric(element, "y")]
    const width = box.maxX - box.minX + 1
    const where = `${content} at (${x}, ${y}): changed ${JSON.stringify(box)}`
    expect(box.count, where).toBeGreaterThan(content.length * 3)
    expect(width, where).toBeGreaterThan(content.length * fontSize * 0.3)
    expect(box.maxY - box.minY + 1, where).toBeLessThanOrEqual(fontSize * 1.5)
    expect(box.maxY, where).toBeLessThanOrEqual(y + fontSize * 0.4)
    expect(box.minY, where).toBeGreaterThanOrEqual(y - fontSize * 1.2)
    const anchor = attribute(element, "text-anchor") ?? "start"
    const [from, to] = anchor === "end" ? [x - width, x] : anchor === "middle" ? [x - width / 2, x + width / 2] : [x, x + width]
    expect(box.minX, where).toBeGreaterThanOrEqual(from - 4)
    expect(box.maxX, where).toBeLessThanOrEqual(to + 4)
  }
}

/** Every element matching `pattern` shows its colour where `inside` says. */
const expectColours = (picture: Picture, svg: string, pattern: RegExp, colour: (element: string) => string) => {
  const found = elements(svg, pattern)
  expect(found.length).toBeGreaterThan(0)
  for (const element of found) {
    const [x, y] = inside(element)
    expect(picture.rgb(x, y), `${element} at (${x}, ${y})`).toSatisfy((rgb: readonly [number, number, number]) =>
      near(rgb, hex(colour(element)))
    )
  }
}

const fillOf = (element: string) => attribute(element, "fill") ?? attribute(element, "stroke")!
const HEDGE = "#2e9d4f"
const LIMIT = "#8e24aa"

for (const [renderer, render] of [["librsvg", librsvg], ["Chromium", inChromium]] as const) {
  describe(`the demo's pictures in ${renderer}`, () => {
    it("timeline: legend, labels, bars, hedged copies and white row gaps", async () => {
      const picture = await render(timeline)
      const [width, height] = [Number(timeline.match(/ width="(\d+)"/)![1]), Number(timeline.match(/ height="(\d+)"/)![1])]
      expect([picture.width, picture.height]).toEqual([width, height])
      expect(picture.rgb(1, 1)).toEqual([255, 255, 255])
      expectColours(picture, timeline, /<rect class="swatch"[^>]*>/g, fillOf)
      // A marker where each copy starts, over every bar; each copy's bar where no marker covers it.
      const markers = elements(timeline, /<path class="hedge-marker"[^>]*>/g)
      expect(markers.length).toBeGreaterThan(2)
      expectColours(picture, timeline, /<path class="hedge-marker"[^>]*>/g, () => HEDGE)
      for (const copy of elements(timeline, /<rect class="hedge"[^>]*>/g)) {
        const [x, y, w, h] = ["x", "y", "width", "height"].map((name) => numeric(copy, name))
        if (w >= 12) expect(near(picture.rgb(x + w - 2, y + h / 2), hex(HEDGE)), copy).toBe(true)
      }
      // Inside the plot every pixel is a bar's colour, the grid's or white: no black outline, no black gap.
      const frame = elements(timeline, /<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="none"[^>]*>/g)[0]
      const [left, top, plotWidth, plotHeight] = ["x", "y", "width", "height"].map((name) => numeric(frame, name))
      let dark = 0
      for (let y = top + 2; y < top + plotHeight - 1; y++) {
        for (let x = left + 2; x < left + plotWidth - 1; x++) {
          if (Math.max(...picture.rgb(x, y)) < 90) dark++
        }
      }
      expect(dark).toBe(0)
      await expectLabels(render, timeline, [
        "effect-ordered timeline: first 200 of 300 actions",
        "running (the action's latency)",
        "finished, waiting for an earlier action",
        "hedged copy, from the marker",
        "action (input order)",
        "simulated time (ms)"
      ])
    }, 120_000)

    it("timeline under \"auto\": the limit's step line, its legend and its axis", async () => {
      const picture = await render(limited)
      const [path] = elements(limited, /<path class="limit"[^>]*>/g)
      expect(attribute(path, "stroke")).toBe(LIMIT)
      expectColours(picture, limited, /<line class="swatch"[^>]*>/g, () => LIMIT)
      // The line shows over the bars along its horizontal runs, and it steps: more than one level.
      const runs = horizontalRuns(attribute(path, "d")!, 6)
      expect(new Set(runs.map(([, y]) => y)).size).toBeGreaterThan(1)
      for (const [x, y] of runs) {
        expect(picture.rgb(x, y), `limit at (${x}, ${y})`).toSatisfy((rgb: readonly [number, number, number]) =>
          near(rgb, hex(LIMIT), 40)
        )
      }
      await expectLabels(render, limited, ["concurrency limit", "0", "running (the action's latency)"])
    }, 120_000)

    it("window: legend, labels and bars", async () => {
      const picture = await render(window)
      expect(picture.rgb(1, 1)).toEqual([255, 255, 255])
      expectColours(picture, window, /<(?:rect|line) class="swatch"[^>]*>/g, fillOf)
      expectColours(picture, window, /<rect class="bar"[^>]*>/g, fillOf)
      await expectLabels(render, window, [
        "Makespan against window size",
        "effect-ordered, by window",
        "default window",
        "Stream.mapEffect (no window)",
        "uniform 0–99 ms",
        "heavy-tailed",
        "makespan (simulated ms)",
        "window (× concurrency)"
      ])
    }, 120_000)
  })
}

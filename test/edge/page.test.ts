/**
 * The demo page at `GET /`, driven in headless Chromium (playwright-core,
 * the Debian `chromium` binary). The server runs in this process on a free
 * loopback port, with costly steps gated on `Deferred`s so the order in which
 * actions finish, and what the page shows while a batch runs, is fixed by the
 * test, not by timings.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createServer, type Server } from "node:http"
import { type Browser, chromium, type Page } from "playwright-core"
import { app, layer } from "../../examples/edge/app.ts"
import type { Action } from "../../examples/edge/domain.ts"
import { ndjson, testConfig } from "./harness.ts"

const reversed = 8
/** `rev-i` finishes only after `rev-(i+1)`: the batch finishes in reverse input order. */
const done = Array.from({ length: reversed }, () => Effect.runSync(Deferred.make<void>()))
/** `held` finishes when the test says so (once). */
const release = Effect.runSync(Deferred.make<void>())

const step = (action: Action) => {
  if (action.key === "held") return Deferred.await(release)
  if (!action.key.startsWith("rev-")) return Effect.void
  const i = Number(action.key.slice("rev-".length))
  const after = i + 1 < reversed ? Deferred.await(done[i + 1]) : Effect.void
  return Effect.andThen(after, Deferred.succeed(done[i], undefined))
}

const runtime = ManagedRuntime.make(layer(testConfig, { step }))
let server: Server
let browser: Browser
let page: Page
let url: string

beforeAll(async () => {
  const listener = await runtime.runPromise(NodeHttpServer.makeHandler(app))
  server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic"
    ]
  })
  page = await browser.newPage()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  server?.closeAllConnections()
  await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined))
  await runtime.dispose()
})

/** The rows of the live picture, in the order shown. */
const rows = () =>
  page.$$eval("#rows .row:not(.head)", (lis) =>
    lis.map((li) => ({
      line: (li as HTMLElement).dataset.line,
      state: (li as HTMLElement).dataset.state,
      finished: (li as HTMLElement).dataset.finished,
      text: li.textContent
    })))

const squares = () => page.$$eval("#picture span", (spans) => spans.map((span) => (span as HTMLElement).dataset.state))

const status = () => page.textContent("#status")

const waitForStatus = (text: string) =>
  page.waitForFunction((text) => document.getElementById("status")!.textContent === text, text)

const generated = async (count: number) => {
  await page.fill("#count", String(count))
  await page.click("#generate")
  return (await page.inputValue("#actions")).split("\n").map((line) => JSON.parse(line))
}

describe("edge demo page", () => {
  it("generates valid batches on fresh keys, each key's orders closed by the end", async () => {
    await page.goto(url)
    const first = await generated(13)
    expect(first).toHaveLength(13)
    expect(first.map((action) => action.type).slice(0, 3)).toEqual(["place", "update", "cancel"])
    const byKey = new Map<string, Array<any>>()
    for (const action of first) byKey.set(action.key, [...byKey.get(action.key) ?? [], action])
    for (const actions of byKey.values()) {
      expect(actions[0].type).toBe("place")
      expect(actions.at(-1).type).toBe("cancel")
    }
    const second = await generated(13)
    const firstKeys = new Set(byKey.keys())
    expect(second.filter((action) => firstKeys.has(action.key))).toEqual([])
  })

  it("sends a generated batch twice, and both succeed", async () => {
    await page.goto(url)
    await generated(20)
    for (const attempt of [1, 2]) {
      await page.click("#send")
      await waitForStatus("done: 20 results")
      expect({ attempt, states: new Set((await rows()).map((row) => row.state)) }).toEqual({
        attempt,
        states: new Set(["emitted"])
      })
      expect(await page.textContent("#error")).toBe("")
    }
  })

  it("shows results in input order, with the order they finished in beside them", async () => {
    await page.goto(url)
    const actions = Array.from({ length: reversed }, (_, i) => ({ key: `rev-${i}`, type: "cancel" }))
    await page.fill("#actions", ndjson(actions))
    await page.click("#send")
    await waitForStatus(`done: ${reversed} results, ${reversed} failed`)
    const shown = await rows()
    expect(shown.map((row) => row.line)).toEqual(actions.map((_, i) => String(i + 1)))
    expect(shown.map((row) => row.finished)).toEqual(actions.map((_, i) => String(reversed - i)))
    expect(shown[0].text).toContain("rev-0")
    expect(shown[0].text).toContain(`#${reversed}`)
    // cancelling an order that was never placed: every action applied, every one failed
    expect(shown.map((row) => row.state)).toEqual(actions.map(() => "failed"))
  })

  it("draws the batch while it runs: emitted, running, finished and waiting", async () => {
    await page.goto(url)
    const actions = [
      { key: "early-0", type: "cancel" },
      { key: "early-1", type: "cancel" },
      { key: "held", type: "cancel" },
      { key: "late-0", type: "cancel" },
      { key: "late-1", type: "cancel" }
    ]
    await page.fill("#actions", ndjson(actions))
    await page.click("#send")
    const live = ["failed", "failed", "running", "waiting", "waiting"]
    await page.waitForFunction(
      (live) => Array.from(document.querySelectorAll("#rows .row:not(.head)")).map((li) => (li as HTMLElement).dataset.state).join() === live.join(),
      live
    )
    expect(await squares()).toEqual(live)
    expect(await status()).toBe("sending…")
    expect(await page.textContent("#n-running")).toBe("1")
    expect(await page.textContent("#n-waiting")).toBe("2")
    await Effect.runPromise(Deferred.succeed(release, undefined))
    await waitForStatus("done: 5 results, 5 failed")
    const shown = await rows()
    expect(shown.map((row) => row.line)).toEqual(["1", "2", "3", "4", "5"])
    expect(shown[2].finished).toBe("5")
    expect(await squares()).toEqual(actions.map(() => "failed"))
  })

  it("fits a 390 px wide screen without horizontal overflow, with a batch drawn", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    try {
      await page.goto(url)
      await generated(60)
      await page.click("#send")
      await waitForStatus("done: 60 results")
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth
      }))
      expect(widths.scroll).toBeLessThanOrEqual(widths.inner)
      expect(await page.$eval("meta[name=viewport]", (meta) => meta.getAttribute("content"))).toContain("width=device-width")
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 })
    }
  })

  it("shows a rejected batch's error", async () => {
    await page.goto(url)
    await page.fill("#actions", "{not json")
    await page.click("#send")
    await waitForStatus("rejected: 400")
    expect(await page.textContent("#error")).toMatch(/^Malformed JSON: .* \(line 1\)$/)
  })
})

/**
 * The demo page at `GET /`, driven in headless Chromium (playwright-core,
 * the Debian `chromium` binary). The server runs in this process on a free
 * loopback port, with costly steps gated on `Deferred`s so the order in which
 * actions finish is fixed by the test, not by timings.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createServer, type Server } from "node:http"
import { type Browser, chromium, type Page } from "playwright-core"
import { app, layer } from "../examples/edge/app.ts"
import type { Action } from "../examples/edge/domain.ts"
import { ndjson, testConfig } from "./edge/harness.ts"

const reversed = 8
/** `rev-i` finishes only after `rev-(i+1)`: the batch finishes in reverse input order. */
const done = Array.from({ length: reversed }, () => Effect.runSync(Deferred.make<void>()))
/** `held` finishes when the test says so. */
const release = Effect.runSync(Deferred.make<void>())

const step = (action: Action) => {
  if (action.key === "held") return Deferred.await(release)
  if (!action.key.startsWith("rev-")) return Effect.void
  const i = Number(action.key.slice("rev-".length))
  const after = i + 1 < reversed ? Deferred.await(done[i + 1]) : Effect.void
  return Effect.zipRight(after, Deferred.succeed(done[i], undefined))
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

const rows = () =>
  page.$$eval("#results tr", (trs) =>
    trs.map((tr) => ({
      line: (tr as HTMLElement).dataset.line,
      finished: (tr as HTMLElement).dataset.finished,
      text: tr.textContent
    })))

describe("edge demo page", () => {
  it("generates a batch of valid actions", async () => {
    await page.goto(url)
    await page.fill("#count", "12")
    await page.click("#generate")
    const generated = (await page.inputValue("#actions")).split("\n")
    expect(generated).toHaveLength(12)
    expect(generated.map((line) => JSON.parse(line).type).slice(0, 3)).toEqual(["place", "update", "cancel"])
  })

  it("shows results in input order, with the order they finished in beside them", async () => {
    await page.goto(url)
    const actions = Array.from({ length: reversed }, (_, i) => ({ key: `rev-${i}`, type: "cancel" }))
    await page.fill("#actions", ndjson(actions))
    await page.click("#send")
    await page.waitForFunction((n) => document.getElementById("status")!.textContent === `done: ${n} results`, reversed)
    const shown = await rows()
    expect(shown.map((row) => row.line)).toEqual(actions.map((_, i) => String(i + 1)))
    expect(shown.map((row) => row.finished)).toEqual(actions.map((_, i) => String(reversed - i)))
    expect(shown[0].text).toContain("rev-0")
    expect(shown[0].text).toContain(`#${reversed}`)
  })

  it("shows each result as soon as it is ready, before the batch is done", async () => {
    await page.goto(url)
    const actions = [
      ...Array.from({ length: 5 }, (_, i) => ({ key: `early-${i}`, type: "cancel" })),
      { key: "held", type: "cancel" }
    ]
    await page.fill("#actions", ndjson(actions))
    await page.click("#send")
    await page.waitForFunction(() => document.querySelectorAll("#results tr").length === 5)
    expect(await page.textContent("#status")).toBe("sending…")
    await Effect.runPromise(Deferred.succeed(release, undefined))
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "done: 6 results")
    expect((await rows()).map((row) => row.line)).toEqual(["1", "2", "3", "4", "5", "6"])
  })

  it("shows a rejected batch's error", async () => {
    await page.goto(url)
    await page.fill("#actions", "{not json")
    await page.click("#send")
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "rejected: 400")
    expect(await page.textContent("#error")).toMatch(/^Malformed JSON: .* \(line 1\)$/)
  })
})

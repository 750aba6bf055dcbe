/** Bad input: the edge example's HTTP routes (the generated table: test/utils/bad-input.ts, docs/validation.md). */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { makeWebHandler } from "../../examples/edge/app.ts"

describe("bad input: edge example HTTP routes (in process; more in test/edge/handler.test.ts)", () => {
  const { dispose, handler } = makeWebHandler({
    runtime: "test",
    concurrency: 4,
    latencyMs: 0,
    maxBodyBytes: 64 * 1024,
    maxActions: 10,
    sequencerCapacity: 8,
    gapTimeoutMs: 200
  })
  afterAll(dispose)
  const post = async (path: string, body: string) => {
    const response = await handler(new Request(`http://edge.test${path}`, { method: "POST", body }))
    return { status: response.status, type: response.headers.get("content-type"), body: await response.json() }
  }

  it("a valid keyed action is applied (the base every case breaks)", async () => {
    expect(await post("/keys/base/actions/0", JSON.stringify({ type: "cancel" }))).toMatchObject({
      status: 200,
      body: { key: "base", sequence: 0, type: "cancel" }
    })
  })

  for (const text of ["abc", "NaN", "Infinity", "-Infinity", "-1", "1.5", "9007199254740992", "1e3", "%201"]) {
    it(`POST /keys/:key/actions/${text}: 400 naming the sequence parameter and its value`, async () => {
      expect(await post(`/keys/k/actions/${text}`, JSON.stringify({ type: "cancel" }))).toEqual({
        status: 400,
        type: "application/json",
        body: {
          error: `Expected path parameter sequence to be an integer ≥ 0, got ${JSON.stringify(decodeURIComponent(text))}`,
          parameter: "sequence"
        }
      })
    })
  }

  for (const path of ["/keys//actions/0", "/keys/k/actions/"]) {
    it(`POST ${path} (empty key or sequence): 404`, async () => {
      expect(await post(path, JSON.stringify({ type: "cancel" }))).toEqual({
        status: 404,
        type: "application/json",
        body: { error: `No route for POST ${path}` }
      })
    })
  }

  const place = { type: "place", payload: { side: "buy", price: 10, quantity: 1 } }
  const withPayload = (field: string, value: unknown) => ({ ...place, payload: { ...place.payload, [field]: value } })
  const withoutPayload = (field: string) => {
    const { [field]: _, ...payload } = place.payload as Record<string, unknown>
    return { ...place, payload }
  }
  /** Body → the field path a 422 names and what its message shows (the value, or that it is missing). */
  const bodies: ReadonlyArray<readonly [string, unknown, ReadonlyArray<string>, string]> = [
    ...(["7", null, true, {}, -1, 0] as const).map((v) =>
      [`price ${JSON.stringify(v)}`, withPayload("price", v), ["payload", "price"], `actual ${JSON.stringify(v)}`] as const
    ),
    ...(["7", null, -1, 0, 1.5] as const).map((v) =>
      [`quantity ${JSON.stringify(v)}`, withPayload("quantity", v), ["payload", "quantity"], `actual ${JSON.stringify(v)}`] as const
    ),
    ["quantity missing", withoutPayload("quantity"), ["payload", "quantity"], "is missing"],
    ["side empty", withPayload("side", ""), ["payload", "side"], "actual \"\""],
    ["side unknown", withPayload("side", "up"), ["payload", "side"], "actual \"up\""],
    ["type missing", { payload: place.payload }, ["type"], "is missing"],
    ...(["7", -1, 1.5, 60_001] as const).map((v) =>
      [`latencyMs ${JSON.stringify(v)}`, { type: "cancel", latencyMs: v }, ["latencyMs"], `actual ${JSON.stringify(v)}`] as const
    ),
    ["an unknown field", { type: "cancel", extra: 1 }, ["extra"], "is unexpected"],
    ...([null, 42, "x"] as const).map((v) => [`body ${JSON.stringify(v)}`, v, [], `actual ${JSON.stringify(v)}`] as const)
  ]
  for (const [name, body, path, shown] of bodies) {
    it(`POST /keys/:key/actions/0 with ${name}: 422 naming the field path and the value`, async () => {
      const response = await post("/keys/k/actions/0", JSON.stringify(body))
      expect(response).toMatchObject({ status: 422, type: "application/json", body: { error: "Invalid action", path } })
      expect(response.body.message).toContain(shown)
    })
  }

  it("NaN is not JSON: 400 malformed JSON", async () => {
    const response = await post("/keys/k/actions/0", "{\"type\":\"place\",\"payload\":{\"side\":\"buy\",\"price\":NaN,\"quantity\":1}}")
    expect(response.status).toBe(400)
    expect(response.body.error).toMatch(/^Malformed JSON: /)
  })

  for (const order of ["", "sideways", "TOTAL"]) {
    it(`POST /actions?order=${order}: 400 naming the order parameter and its value`, async () => {
      expect(await post(`/actions?order=${order}`, JSON.stringify({ key: "a", type: "cancel" }) + "\n")).toEqual({
        status: 400,
        type: "application/json",
        body: {
          error: `Expected query parameter order to be "total", "key" or "none", got ${JSON.stringify(order)}`,
          parameter: "order"
        }
      })
    })
  }

  it("POST /actions with an empty key on line 2: 422 naming the line and the field", async () => {
    const response = await post("/actions", [{ key: "a", type: "cancel" }, { key: "", type: "cancel" }].map((a) => JSON.stringify(a)).join("\n"))
    expect(response).toMatchObject({ status: 422, body: { error: "Invalid action", line: 2, path: ["key"] } })
    expect(response.body.message).toContain("actual \"\"")
  })
})

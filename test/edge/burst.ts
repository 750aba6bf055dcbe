/**
 * A keyed burst, as a mobile fleet reconnecting after an outage sends it:
 * `keys × actions` client-numbered actions, shuffled (seeded), a few sent
 * twice, one sequence never sent on some keys, all in flight at once. Used by
 * the runtime tests and `npm run bench:http`.
 */
import { Agent, request } from "undici"

export interface BurstSpec {
  readonly keys: number
  readonly actions: number
  /** Duplicates per key (resent copies of random sequences). */
  readonly duplicatesPerKey: number
  /** This sequence is never sent on the first `gapKeys` keys. */
  readonly missingSequence: number
  readonly gapKeys: number
  readonly seed: number
}

export const defaultBurst = (keys: number, actions = 100): BurstSpec => ({
  keys,
  actions,
  duplicatesPerKey: 6,
  missingSequence: 20,
  gapKeys: 10,
  seed: 42
})

interface Sent {
  readonly key: string
  readonly sequence: number
  readonly duplicate: boolean
}

export interface BurstResult {
  readonly requests: number
  /** Answers by status. */
  readonly statuses: Readonly<Record<number, number>>
  /** Actions answered 200 with `ok: true`. */
  readonly applied: number
  /** Sequences whose copies were not answered as expected (at most 10 shown), with their statuses. */
  readonly unexpected: ReadonlyArray<{ readonly id: string; readonly statuses: ReadonlyArray<number> }>
  /** Number of sequences answered otherwise than expected. */
  readonly unexpectedCount: number
  /** Requests sent again after a 408 (the server's header timeout shed them under load) or a failed connect. */
  readonly retried: number
  /** Requests answered 503 with `Retry-After` (the server shed them, unread) and sent again after it. */
  readonly shed: number
  /** Requests that failed without an answer, by error code. */
  readonly errors: Readonly<Record<string, number>>
  /** The first few bodies of answers other than 200. */
  readonly samples: ReadonlyArray<unknown>
  /** From the first request sent to the last answer. */
  readonly drainMillis: number
}

/** Mulberry32: a small seeded PRNG, so a failing burst can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A key's life: place at 0, updates, cancel at the last sequence (every action succeeds only in sequence order). */
const actionAt = (sequence: number, last: number) =>
  sequence === 0
    ? { type: "place", payload: { side: "buy", price: 1, quantity: 1 } }
    : sequence === last
    ? { type: "cancel" }
    : { type: "update", payload: { quantity: sequence + 1 } }

export const burstRequests = (spec: BurstSpec, prefix: string): Array<Sent> => {
  const next = random(spec.seed)
  const sent: Array<Sent> = []
  for (let k = 0; k < spec.keys; k++) {
    const key = `${prefix}-${k}`
    for (let s = 0; s < spec.actions; s++) {
      if (k < spec.gapKeys && s === spec.missingSequence) continue
      sent.push({ key, sequence: s, duplicate: false })
    }
    for (let d = 0; d < spec.duplicatesPerKey; d++) {
      let s = Math.floor(next() * spec.actions)
      if (k < spec.gapKeys && s === spec.missingSequence) s++
      sent.push({ key, sequence: s, duplicate: true })
    }
  }
  for (let i = sent.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[sent[i], sent[j]] = [sent[j], sent[i]]
  }
  return sent
}

/** Connection failures that leave the request unsent: resending it is safe. */
const neverSent = new Set(["ECONNREFUSED", "ETIMEDOUT"])

/**
 * Sends the whole burst at once (one connection per request) and checks each
 * answer: the first copy of a sequence 200 and applied, except the one just
 * after a missing sequence (504), the second copy 409.
 */
export const runBurst = async (url: string, spec: BurstSpec, prefix: string): Promise<BurstResult> => {
  const sent = burstRequests(spec, prefix)
  // The kernel gives up a connect after its SYN retransmits (about 2 minutes, ETIMEDOUT): only then was the request
  // surely never sent. A shorter client timeout can fire on a starved client after the connection was made and the
  // request sent (measured: one such "timeout" of 504 had been applied, and its resend got 409).
  const agent = new Agent({
    connections: null,
    pipelining: 1,
    connectTimeout: 600_000,
    headersTimeout: 600_000,
    bodyTimeout: 600_000
  })
  const answers = new Map<string, Array<number>>()
  const statuses: Record<number, number> = {}
  let applied = 0
  let retried = 0
  let shed = 0
  const errors: Record<string, number> = {}
  const samples: Array<unknown> = []
  const started = performance.now()
  try {
    const send = (key: string, sequence: number) =>
      request(`${url}/keys/${key}/actions/${sequence}`, {
        method: "POST",
        body: JSON.stringify(actionAt(sequence, spec.actions - 1)),
        headers: { "content-type": "application/json" },
        dispatcher: agent
      })
    /**
     * The client's contract: a request that never reached the server (its
     * connection was refused or timed out in the kernel) is sent again, and so is one answered 408 or 503 (the
     * server shed it before reading it; after its `Retry-After`). All are safe with sequence numbers.
     */
    const sendUntilRead = async (key: string, sequence: number) => {
      for (;;) {
        const response = await send(key, sequence).catch((error: NodeJS.ErrnoException) => error)
        if (response instanceof Error) {
          const code = String(response.code ?? response.message)
          errors[code] = (errors[code] ?? 0) + 1
          if (!neverSent.has(code)) return response
        } else if (response.statusCode === 503 && response.headers["retry-after"] !== undefined) {
          await response.body.dump()
          await new Promise((resolve) => setTimeout(resolve, Number(response.headers["retry-after"]) * 1000))
          shed++
          continue
        } else if (response.statusCode !== 408) {
          return response
        } else {
          await response.body.dump()
        }
        retried++
      }
    }
    await Promise.all(sent.map(async ({ key, sequence }) => {
      const response = await sendUntilRead(key, sequence)
      if (response instanceof Error) {
        // a connection reset before the answer: counted as status 0, not resent (it may have been applied)
        statuses[0] = (statuses[0] ?? 0) + 1
        answers.set(`${key}/${sequence}`, [...answers.get(`${key}/${sequence}`) ?? [], 0])
        return
      }
      const status = response.statusCode
      // A 408 written by the runtime itself may carry no JSON body.
      const body = await response.body.json().catch(() => ({})) as { readonly ok?: boolean }
      statuses[status] = (statuses[status] ?? 0) + 1
      if (status === 200 && body.ok === true) applied++
      if (status !== 200 && samples.length < 5) samples.push(body)
      const id = `${key}/${sequence}`
      answers.set(id, [...answers.get(id) ?? [], status])
    }))
  } finally {
    await agent.close()
  }
  const drainMillis = performance.now() - started
  // Per sequence: one copy applied (200), or 504 just after a missing sequence; every other copy 409.
  const unexpected: Array<{ readonly id: string; readonly statuses: ReadonlyArray<number> }> = []
  for (const [id, got] of answers) {
    const [key, sequence] = [id.slice(0, id.lastIndexOf("/")), Number(id.slice(id.lastIndexOf("/") + 1))]
    const afterGap = Number(key.slice(prefix.length + 1)) < spec.gapKeys && sequence === spec.missingSequence + 1
    const expected = [afterGap ? 504 : 200, ...got.slice(1).map(() => 409)].sort()
    if (JSON.stringify([...got].sort()) !== JSON.stringify(expected)) unexpected.push({ id, statuses: got })
  }
  return {
    requests: sent.length,
    statuses,
    applied,
    unexpected: unexpected.slice(0, 10),
    unexpectedCount: unexpected.length,
    samples,
    retried,
    shed,
    errors,
    drainMillis
  }
}

/** Actions a clean burst applies: every sent sequence except the one after each gap. */
export const expectedApplied = (spec: BurstSpec): number => spec.keys * spec.actions - 2 * spec.gapKeys

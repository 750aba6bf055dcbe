/**
 * One key of the order book: its open order and the reassembly of its
 * client-numbered actions by `effect-ordered/workers`' `KeySequencer`. The
 * same class serves the key in the Node process (`node.ts`, storage in
 * memory) and in the key's Durable Object on workerd (`worker.ts`, its
 * storage), so both runtimes apply a key's actions one place, one at a time.
 */
import { Duration, Effect, Schema, Scope } from "effect"
import { KeySequencer } from "effect-ordered/workers"

const Quantity = Schema.Int.check(Schema.isGreaterThan(0))
/** Simulated cost of the action's costly step; the server's default when absent. */
const latencyMs = Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 60_000 })))

/** One action on a key's order (the key comes from the URL, or the batch line's `key`). */
export const Action = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("place"),
    payload: Schema.Struct({ side: Schema.Literals(["buy", "sell"]), price: Schema.Finite, quantity: Quantity }),
    latencyMs
  }),
  Schema.Struct({ type: Schema.Literal("cancel"), latencyMs }),
  Schema.Struct({ type: Schema.Literal("update"), payload: Schema.Struct({ quantity: Quantity }), latencyMs })
])
export type Action = typeof Action.Type

export interface Order {
  readonly side: "buy" | "sell"
  readonly price: number
  readonly quantity: number
}

/** How an action came out: the order afterwards (for `cancel`, as it was), or the book's refusal. */
export type Outcome =
  | { readonly ok: true; readonly order: Order }
  | { readonly ok: false; readonly error: { readonly _tag: "UnknownOrderError" | "OrderExistsError" } }

/** A keyed request's answer. */
export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

export interface KeyConfig {
  /** Per key, how far ahead of the next expected sequence a request may be. */
  readonly capacity: number
  /** How long a key waits for a missing sequence before it goes on without it (then 504). */
  readonly gapTimeoutMs: number
}

/** The costly step (validation, enrichment…), simulated by sleeping on Effect's Clock. */
export const costlyStep = (action: Action, defaultLatencyMs: number): Effect.Effect<void> =>
  Effect.sleep(Duration.millis(action.latencyMs ?? defaultLatencyMs))

const ORDER = "order"

export class KeyState {
  private order: Order | undefined
  private sequencer: Promise<KeySequencer.KeySequencer<Action, Reply, never>> | undefined
  private readonly scope = Effect.runSync(Scope.make())

  constructor(
    private readonly key: string,
    private readonly storage: KeySequencer.DurableObjectStorage,
    private readonly config: KeyConfig
  ) {}

  /** Reads the key's order from its storage; call once, before anything else. */
  async load(): Promise<void> {
    this.order = (await this.storage.get<Order | null>(ORDER)) ?? undefined
  }

  get current(): Order | undefined {
    return this.order
  }

  /** Applies one action to the key's order and stores the order. */
  async apply(action: Action): Promise<Outcome> {
    const outcome = this.applyNow(action)
    await this.storage.put({ [ORDER]: this.order ?? null })
    return outcome
  }

  private applyNow(action: Action): Outcome {
    const current = this.order
    if (action.type === "place") {
      if (current !== undefined) return { ok: false, error: { _tag: "OrderExistsError" } }
      this.order = action.payload
      return { ok: true, order: this.order }
    }
    if (current === undefined) return { ok: false, error: { _tag: "UnknownOrderError" } }
    this.order = action.type === "cancel" ? undefined : { ...current, quantity: action.payload.quantity }
    return { ok: true, order: this.order ?? current }
  }

  /**
   * Offers the action numbered `sequence`; answers once it has been applied
   * in sequence order (200), given up on behind a gap (504) or refused (409, 503).
   */
  async submit(sequence: number, action: Action, latencyMs: number): Promise<Reply> {
    const sequencer = await (this.sequencer ??= Effect.runPromise(
      Scope.provide(
        KeySequencer.make({
          storage: this.storage,
          key: this.key,
          capacity: this.config.capacity,
          gapTimeout: Duration.millis(this.config.gapTimeoutMs),
          apply: ({ missing, sequence, value }: KeySequencer.Released<Action>) =>
            missing !== undefined
              ? Effect.succeed({ status: 504, body: { key: this.key, sequence, missing } })
              : Effect.andThen(costlyStep(value, latencyMs), () =>
                Effect.sync((): Reply => ({ status: 200, body: { key: this.key, sequence, ...this.applyNow(value) } }))),
          state: () => ({ [ORDER]: this.order ?? null })
        }),
        this.scope
      )
    ))
    const exit = await Effect.runPromiseExit(sequencer.submit(sequence, action))
    if (exit._tag === "Success") return exit.value
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    if (error === undefined) throw new Error(`Key ${this.key}: sequence ${sequence} was not applied`)
    const { _tag, ...fields } = error
    return { status: _tag === "DuplicateSequenceError" || _tag === "SequenceOutOfWindowError" ? 409 : 503, body: { _tag, ...fields } }
  }
}

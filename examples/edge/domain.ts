/**
 * The backend the edge example stands in for: an in-memory order book and the
 * actions clients send to it. `place` creates an order, `cancel` removes it
 * (and fails for an unknown order), `update` changes its quantity. Applying
 * `cancel 17` before `place 17` leaves order 17 alive, which is why the
 * actions must be applied in the order the client sent them.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

/** Longest simulated cost an action may ask for (`latencyMs`). */
export const maxLatencyMs = 60_000

const Key = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
const Quantity = Schema.Int.pipe(Schema.positive())
/** Simulated cost of the validation/enrichment step, for demos and tests; the server's default applies when absent. */
const LatencyMs = Schema.optional(Schema.Int.pipe(Schema.between(0, maxLatencyMs)))

export const PlaceAction = Schema.Struct({
  key: Key,
  type: Schema.Literal("place"),
  payload: Schema.Struct({
    side: Schema.Literal("buy", "sell"),
    price: Schema.Finite.pipe(Schema.positive()),
    quantity: Quantity
  }),
  latencyMs: LatencyMs
})

export const CancelAction = Schema.Struct({
  key: Key,
  type: Schema.Literal("cancel"),
  payload: Schema.optional(Schema.Struct({})),
  latencyMs: LatencyMs
})

export const UpdateAction = Schema.Struct({
  key: Key,
  type: Schema.Literal("update"),
  payload: Schema.Struct({ quantity: Quantity }),
  latencyMs: LatencyMs
})

/** One line of a `POST /actions` body. */
export const Action = Schema.Union(PlaceAction, CancelAction, UpdateAction)
export type Action = typeof Action.Type

export interface Order {
  readonly key: string
  readonly side: "buy" | "sell"
  readonly price: number
  readonly quantity: number
}

export class UnknownOrderError extends Data.TaggedError("UnknownOrderError")<{ readonly key: string }> {
  override get message(): string {
    return `No open order ${JSON.stringify(this.key)}`
  }
}

export class OrderExistsError extends Data.TaggedError("OrderExistsError")<{ readonly key: string }> {
  override get message(): string {
    return `Order ${JSON.stringify(this.key)} is already open`
  }
}

export type BookError = UnknownOrderError | OrderExistsError

/**
 * What applying `action` to the key's current order does: the result (for
 * `cancel`, the order as it was) and the key's order afterwards. The
 * in-memory book and the Durable Object of `worker.ts` both apply with it.
 */
export const applyTo = (
  current: Option.Option<Order>,
  action: Action
): Either.Either<readonly [result: Order, after: Option.Option<Order>], BookError> => {
  switch (action.type) {
    case "place": {
      if (Option.isSome(current)) return Either.left(new OrderExistsError({ key: action.key }))
      const order: Order = { key: action.key, ...action.payload }
      return Either.right([order, Option.some(order)])
    }
    case "cancel": {
      if (Option.isNone(current)) return Either.left(new UnknownOrderError({ key: action.key }))
      return Either.right([current.value, Option.none()])
    }
    case "update": {
      if (Option.isNone(current)) return Either.left(new UnknownOrderError({ key: action.key }))
      const order: Order = { ...current.value, quantity: action.payload.quantity }
      return Either.right([order, Option.some(order)])
    }
  }
}

/** The order book as the routes see it: apply actions, read an order. */
export interface Book {
  /**
   * Applies actions one by one, in order; each result is the order as it
   * stands afterwards (for `cancel`: as it was), or the book's refusal.
   */
  readonly applyAll: (actions: ReadonlyArray<Action>) => Effect.Effect<Array<Either.Either<Order, BookError>>>
  readonly get: (key: string) => Effect.Effect<Option.Option<Order>>
}

/** The in-memory order book; one per server, shared by every request. */
export class OrderBook extends Effect.Service<OrderBook>()("effect-ordered/examples/edge/OrderBook", {
  effect: Effect.gen(function*() {
    const orders = yield* Ref.make(HashMap.empty<string, Order>())

    const apply = (action: Action): Effect.Effect<Order, BookError> =>
      Effect.flatten(Ref.modify(orders, (book: HashMap.HashMap<string, Order>): readonly [Effect.Effect<Order, BookError>, HashMap.HashMap<string, Order>] => {
        const applied = applyTo(HashMap.get(book, action.key), action)
        if (Either.isLeft(applied)) return [Effect.fail(applied.left), book]
        const [result, after] = applied.right
        return [
          Effect.succeed(result),
          Option.isSome(after) ? HashMap.set(book, action.key, after.value) : HashMap.remove(book, action.key)
        ]
      }))

    const get = (key: string): Effect.Effect<Option.Option<Order>> => Effect.map(Ref.get(orders), HashMap.get(key))

    return { applyAll: (actions) => Effect.forEach(actions, (action) => Effect.either(apply(action))), get } satisfies Book
  })
}) {}

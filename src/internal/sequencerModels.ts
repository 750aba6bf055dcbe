/**
 * The runtime values of `Sequencer` that its engine uses too: the `Event`
 * tagged enum and the offer errors. A leaf module (it imports no other
 * module of the package but `errors.ts`), so that `Sequencer.ts` and
 * `internal/sequencer.ts` both import it without a cycle. Their
 * documentation lives on `Sequencer.ts`, which re-exports them.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import { type TaggedErrorConstructor, TaggedErrorWithMessage } from "../errors.ts"

/** See `Sequencer.Key`. */
export type Key = string | number

/** See `Sequencer.Event`. */
export type Event<A> = Data.TaggedEnum<{
  Released: { readonly key: Key; readonly sequence: number; readonly value: A }
  Gap: { readonly key: Key; readonly from: number; readonly to: number }
}>

/** See `Sequencer.Released`. */
export type Released<A> = Data.TaggedEnum.Value<Event<A>, "Released">

/** See `Sequencer.Gap`. */
export type Gap = Data.TaggedEnum.Value<Event<never>, "Gap">

/** See `Sequencer.EventDefinition`. */
export interface EventDefinition extends Data.TaggedEnum.WithGenerics<1> {
  readonly taggedEnum: Event<this["A"]>
}

/** See `Sequencer.Event`. */
export const Event: {
  readonly Released: <A>(args: { readonly key: Key; readonly sequence: number; readonly value: A }) => Released<A>
  readonly Gap: (args: { readonly key: Key; readonly from: number; readonly to: number }) => Gap
} & Data.TaggedEnum.GenericMatchers<EventDefinition> = Data.taggedEnum<EventDefinition>()

const describeKey = (key: Key): string => typeof key === "string" ? JSON.stringify(key) : String(key)

const DuplicateSequenceErrorBase: TaggedErrorConstructor<"DuplicateSequenceError", {
  readonly key: Key
  readonly sequence: number
  /** The key's next expected sequence when the offer was refused. */
  readonly next: number
}> = TaggedErrorWithMessage(
  "DuplicateSequenceError",
  (e) => {
    const key = describeKey(e.key)
    return e.sequence >= e.next
      ? `Sequence ${e.sequence} of key ${key} is already buffered`
      : `Sequence ${e.sequence} of key ${key} was already released or given up on (next expected: ${e.next})`
  }
)

/** See `Sequencer.DuplicateSequenceError` (its documentation lives on the re-export). */
export class DuplicateSequenceError extends DuplicateSequenceErrorBase {}

const SequenceOutOfWindowErrorBase: TaggedErrorConstructor<"SequenceOutOfWindowError", {
  readonly key: Key
  readonly sequence: number
  /** The key's next expected sequence when the offer was refused. */
  readonly next: number
  /** `options.capacity`: accepted sequences are below `next + capacity`. */
  readonly capacity: number
}> = TaggedErrorWithMessage(
  "SequenceOutOfWindowError",
  (e) =>
    `Sequence ${e.sequence} of key ${describeKey(e.key)} is beyond the window: next expected is ${e.next}, capacity ${e.capacity} admits up to ${
      e.next + e.capacity - 1
    }`
)

/** See `Sequencer.SequenceOutOfWindowError` (its documentation lives on the re-export). */
export class SequenceOutOfWindowError extends SequenceOutOfWindowErrorBase {}

const SequencerClosedErrorBase: TaggedErrorConstructor<"SequencerClosedError", {
  readonly key: Key
  readonly sequence: number
}> = TaggedErrorWithMessage(
  "SequencerClosedError",
  (e) => `Sequencer is closed: sequence ${e.sequence} of key ${describeKey(e.key)} was not released`
)

/** See `Sequencer.SequencerClosedError` (its documentation lives on the re-export). */
export class SequencerClosedError extends SequencerClosedErrorBase {}

const SequenceGapErrorBase: TaggedErrorConstructor<"SequenceGapError", {
  readonly key: Key
  /** First missing sequence. */
  readonly from: number
  /** Last missing sequence (inclusive). */
  readonly to: number
  /** `options.gapTimeout`, which a later value waited for. */
  readonly gapTimeout: Duration.Duration
}> = TaggedErrorWithMessage(
  "SequenceGapError",
  (e) => {
    const missing = e.from === e.to ? `sequence ${e.from}` : `sequences ${e.from} to ${e.to}`
    return `Key ${describeKey(e.key)} gave up on ${missing}: missing for ${Duration.format(e.gapTimeout)}`
  }
)

/** See `Sequencer.SequenceGapError` (its documentation lives on the re-export). */
export class SequenceGapError extends SequenceGapErrorBase {}

const SequencerKeyLimitErrorBase: TaggedErrorConstructor<"SequencerKeyLimitError", {
  readonly key: Key
  readonly sequence: number
  /** `options.maxKeys`. */
  readonly maxKeys: number
}> = TaggedErrorWithMessage(
  "SequencerKeyLimitError",
  (e) => `Cannot start key ${describeKey(e.key)} (sequence ${e.sequence}): ${e.maxKeys} keys are live (maxKeys)`
)

/** See `Sequencer.SequencerKeyLimitError` (its documentation lives on the re-export). */
export class SequencerKeyLimitError extends SequencerKeyLimitErrorBase {}

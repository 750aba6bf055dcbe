import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { line } from "./line.ts"

/** A span that keeps what it was told: its attributes, and the exit it ended with. */
export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId = "test-trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
  exit: Exit.Exit<unknown, unknown> | undefined
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number
  ) {
    this.spanId = `span-${id}`
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    this.exit = exit
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(): void {}
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
  /** What effect 4 calls `context` (it reads a parent's `annotations`). */
  get annotations(): Context.Context<never> {
    return this.context
  }
  /** The name of the parent span, if it is one. */
  get parentName(): string | undefined {
    return Option.getOrUndefined(Option.map(this.parent, (p) => p._tag === "Span" ? p.name : p.spanId))
  }
}

/**
 * A tracer that records every span it makes (for `Effect.withTracer`). Effect 4 passes `span` one options object
 * and calls `context` with the fiber's next primitive, not a thunk, so it gets no `context`.
 */
export const makeRecordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  const record: typeof Tracer.make extends (options: infer O) => unknown ? O : never = {
    // deno-lint-ignore no-explicit-any
    span: ((...args: Array<any>) => {
      const [name, parent, context, links, startTime, kind] = line === 4
        ? [args[0].name, args[0].parent, args[0].annotations, args[0].links, args[0].startTime, args[0].kind]
        : args
      const span = new RecordedSpan(name, parent, context, links, startTime, kind, spans.length)
      spans.push(span)
      return span
    }) as Tracer.Tracer["span"],
    context: (f) => f()
  }
  // deno-lint-ignore no-explicit-any
  const tracer = Tracer.make(line === 4 ? { span: record.span } as any : record)
  return { tracer, spans }
}

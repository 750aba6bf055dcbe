/**
 * The sink the Kafka tests commit into: an append-only file shared by every
 * consumer process (one `write` per line, `O_APPEND`), so its line order is
 * the order the commits happened in. Replaying it per key checks the
 * idempotent-sink rule: `last + 1` applies, `≤ last` is a re-commit
 * (duplicate), anything above `last + 1` is a gap (an action skipped or
 * committed out of order).
 */
import { appendFileSync, openSync, readFileSync, writeSync } from "node:fs"
import { Partitioners, type Producer } from "kafkajs"
import type { Record } from "../../src/kafka/index.ts"
import type { Action } from "../redis/sink.ts"

export { type Action, workload } from "../redis/sink.ts"

export interface CommitLine {
  readonly consumer: string
  readonly key: string
  readonly seq: number
  readonly partition: number
  readonly offset: number
  readonly at: number
}

/** The sink files this process commits to, each opened once (opening and closing per line cost a consumer a fifth of its CPU). */
const opened = new Map<string, number>()

export const appendCommit = (file: string, consumer: string, record: Record, seq: number): void => {
  let fd = opened.get(file)
  if (fd === undefined) opened.set(file, fd = openSync(file, "a"))
  writeSync(fd, `${JSON.stringify({ consumer, key: record.key, seq, partition: record.partition, offset: record.offset, at: Date.now() })}\n`)
}

/** Marks a moment (e.g. a kill) in the sink's order. */
export const appendMark = (file: string, mark: string): void => appendFileSync(file, `${JSON.stringify({ mark, at: Date.now() })}\n`)

export const readSink = (file: string): Array<CommitLine | { readonly mark: string; readonly at: number }> => {
  let text = ""
  try {
    text = readFileSync(file, "utf8")
  } catch {
    return []
  }
  // A consumer killed mid-write may leave a partial last line.
  return text.split("\n").flatMap((line) => {
    try {
      return line === "" ? [] : [JSON.parse(line)]
    } catch {
      return []
    }
  })
}

export const replay = (file: string) => {
  const last: { [key: string]: number } = {}
  let applied = 0
  let duplicates = 0
  const gaps: Array<string> = []
  for (const line of readSink(file)) {
    if (!("key" in line)) continue
    const before = last[line.key] ?? 0
    if (line.seq === before + 1) {
      last[line.key] = line.seq
      applied++
    } else if (line.seq <= before) duplicates++
    else gaps.push(`${line.key}: ${before} -> ${line.seq} by ${line.consumer}`)
  }
  return { last, applied, duplicates, gaps }
}

/** Sends the actions in order (batches one after the other, so each key's records keep their order). */
export const load = async (producer: Producer, topic: string, actions: ReadonlyArray<{ key: string; action: Action }>) => {
  for (let i = 0; i < actions.length; i += 500) {
    await producer.send({
      topic,
      messages: actions.slice(i, i + 500).map(({ key, action }) => ({ key, value: JSON.stringify(action) }))
    })
  }
}

/**
 * Idempotent, one request in flight: a send retried after a timeout neither
 * duplicates records nor reorders a key's (the counts above rely on it).
 */
export const producerOptions = { createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 }

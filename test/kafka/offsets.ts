/**
 * The group's committed offsets, sampled throughout a test, and an audit of
 * the sink against them: committed offsets never go backwards, and a record
 * committed to the sink twice was redone only while the group had not
 * committed it (what a crash or a rebalance may redo), never after.
 */
import type { Admin } from "kafkajs"
import * as Checkpoint from "../../src/Checkpoint.ts"
import { type CommitLine, readSink } from "./sink.ts"

export interface Sample {
  readonly at: number
  readonly partition: number
  readonly checkpoint: Checkpoint.Checkpoint
}

export interface Sampler {
  readonly samples: Array<Sample>
  /** "p3: 4490 -> 2255" for each sample below an earlier one of its partition. */
  readonly decreases: Array<string>
  readonly stop: () => Promise<void>
}

export const checkpointOf = (offset: string, metadata: string | null): Checkpoint.Checkpoint => {
  const decoded = Checkpoint.decode(metadata ?? "")
  return decoded._tag === "Success" && decoded.value.committed === Number(offset) - 1
    ? decoded.value
    : Checkpoint.make(Number(offset))
}

/** Reads the group's committed offsets every `everyMs` until stopped. */
export const sampleOffsets = (admin: Admin, group: string, topic: string, everyMs = 100): Sampler => {
  const samples: Array<Sample> = []
  const decreases: Array<string> = []
  const highest = new Map<number, number>()
  let running = true
  const loop = (async () => {
    while (running) {
      const partitions = await admin.fetchOffsets({ groupId: group, topics: [topic] }).then((t) => t[0].partitions, () => [])
      // Taken when the answer arrived: the broker's state is at least this recent.
      const at = Date.now()
      for (const { partition, offset, metadata } of partitions) {
        if (Number(offset) < 0) continue
        const before = highest.get(partition) ?? -1
        if (Number(offset) < before) decreases.push(`p${partition}: ${before} -> ${offset}`)
        highest.set(partition, Math.max(before, Number(offset)))
        samples.push({ at, partition, checkpoint: checkpointOf(offset, metadata) })
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    samples,
    decreases,
    stop: async () => {
      running = false
      await loop
    }
  }
}

export interface Audit {
  /** Sink lines of a record already in the sink. */
  readonly duplicates: number
  /**
   * Duplicates whose previous copy was written by `consumer` (its work that
   * was redone), redone at `since` or later, in `partitions` (default: all).
   */
  readonly redoneOf: (consumer: string, since?: number, partitions?: ReadonlyArray<number>) => number
  /** Duplicates written after a sample showed the group had committed their record: work redone past a commit. */
  readonly redoneAfterCommit: Array<CommitLine>
}

/** Reads the sink against the samples; the lines `excused` says are not audited against commits (counted as duplicates still). */
export const audit = (sink: string, samples: ReadonlyArray<Sample>, excused: (line: CommitLine) => boolean = () => false): Audit => {
  const previous = new Map<string, CommitLine>()
  const redone: Array<{ readonly of: string; readonly at: number; readonly partition: number }> = []
  const redoneAfterCommit: Array<CommitLine> = []
  let duplicates = 0
  const byPartition = new Map<number, Array<Sample>>()
  for (const sample of samples) {
    const list = byPartition.get(sample.partition) ?? []
    list.push(sample)
    byPartition.set(sample.partition, list)
  }
  for (const line of readSink(sink)) {
    if (!("key" in line)) continue
    const id = `${line.partition}:${line.offset}`
    const earlier = previous.get(id)
    previous.set(id, line)
    if (earlier === undefined) continue
    duplicates++
    redone.push({ of: earlier.consumer, at: line.at, partition: line.partition })
    if (excused(line)) continue
    const committedBefore = (byPartition.get(line.partition) ?? []).some((s) =>
      s.at < line.at && Checkpoint.isCompleted(s.checkpoint, line.offset)
    )
    if (committedBefore) redoneAfterCommit.push(line)
  }
  return {
    duplicates,
    redoneOf: (consumer, since = -Infinity, partitions) =>
      redone.filter((r) => r.of === consumer && r.at >= since && (partitions?.includes(r.partition) ?? true)).length,
    redoneAfterCommit
  }
}

/**
 * The victim's sink lines of `partitions` (those it held when it died) that
 * `checkpoints` (the group's commits once it was gone) do not cover: what it
 * committed to the sink after its last acknowledged offset commit, all of
 * which its successors redo.
 */
export const uncovered = (
  sink: string,
  victim: string,
  partitions: ReadonlyArray<number>,
  checkpoints: ReadonlyMap<number, Checkpoint.Checkpoint>
): number =>
  readSink(sink).filter((line) => {
    if (!("key" in line) || line.consumer !== victim || !partitions.includes(line.partition)) return false
    const checkpoint = checkpoints.get(line.partition)
    return checkpoint === undefined || !Checkpoint.isCompleted(checkpoint, line.offset)
  }).length

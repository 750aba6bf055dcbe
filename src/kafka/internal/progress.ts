import type { Checkpoint } from "../../Checkpoint.ts"

/**
 * A partition run's completed offsets, kept mutably: `committed` (every
 * offset up to it is done) and a ring of flags for the offsets above it.
 * Completions arrive one per action, out of order across keys and at most a
 * window (plus a restart's metadata) apart; the immutable `Checkpoint`,
 * which copies its array of offsets above `committed` on every completion,
 * is built from it only when an offset commit is sent.
 *
 * @internal
 */
export class Progress {
  /** Every offset up to this one is done. */
  committed: number
  /** Offsets done above `committed + 1`. */
  above = 0
  /** The highest offset done (≤ `committed` when `above` is 0). */
  private highest: number
  /** Flag of offset `o` (`committed < o ≤ committed + flags.length`) at `o & (flags.length - 1)`. */
  private flags = new Uint8Array(1024)

  constructor(checkpoint: Checkpoint) {
    this.committed = checkpoint.committed
    this.highest = checkpoint.committed
    for (const offset of checkpoint.above) this.complete(offset)
  }

  /** The checkpoint of a partition no offset was committed for, whose first record is at `start`. */
  static startingAt(start: number): Progress {
    return new Progress({ committed: start - 1, above: [] })
  }

  complete(offset: number): void {
    if (offset <= this.committed) return
    if (offset - this.committed > this.flags.length) this.grow(offset - this.committed)
    const flags = this.flags
    const mask = flags.length - 1
    if (offset !== this.committed + 1) {
      if (flags[offset & mask] === 0) {
        flags[offset & mask] = 1
        this.above++
        if (offset > this.highest) this.highest = offset
      }
      return
    }
    this.committed = offset
    if (offset > this.highest) this.highest = offset
    while (this.above > 0 && flags[(this.committed + 1) & mask] === 1) {
      flags[(this.committed + 1) & mask] = 0
      this.committed++
      this.above--
    }
  }

  isCompleted(offset: number): boolean {
    return offset <= this.committed ||
      (offset - this.committed <= this.flags.length && this.flags[offset & (this.flags.length - 1)] === 1)
  }

  /** As an immutable `Checkpoint` (what an offset commit encodes). */
  toCheckpoint(): Checkpoint {
    const above: Array<number> = []
    const mask = this.flags.length - 1
    for (let offset = this.committed + 2; above.length < this.above; offset++) {
      if (this.flags[offset & mask] === 1) above.push(offset)
    }
    return { committed: this.committed, above }
  }

  /** Room for offsets up to `span` past `committed`: a power of two at least that large, the flags moved over. */
  private grow(span: number): void {
    let size = this.flags.length * 2
    while (size < span) size *= 2
    const flags = new Uint8Array(size)
    const [oldMask, mask] = [this.flags.length - 1, size - 1]
    for (let offset = this.committed + 2; offset <= this.highest; offset++) {
      if (this.flags[offset & oldMask] === 1) flags[offset & mask] = 1
    }
    this.flags = flags
  }
}

/**
 * The size of a `window: "auto"`, decided from what the engine observes and
 * nothing else (no clock, no latency model):
 *
 * - It grows when workers sit idle because the window is full while the
 *   consumer waits for the next result in order: the stall is head-of-line
 *   blocking, which a bigger window buys back. It grows by the idle workers,
 *   so that each can start one more action: the room a window of `Infinity`
 *   would have given them, and no more.
 * - A full window while the consumer is busy is the consumer's backpressure:
 *   more room would only buffer more results for it, so the window stays.
 * - It shrinks back (halving, never below its starting size) when a whole
 *   window's worth of results has been handed over while occupancy stayed at
 *   or below half the size, or straight to its start when occupancy stayed
 *   within the start: memory held after a stall goes back.
 * - It never exceeds `max`: what a stalled head holds stays bounded.
 *
 * @internal
 */
export class AutoWindow {
  /** The current bound on actions taken and not yet emitted. */
  size: number
  /** Most actions held at a hand-over since the last shrink check. */
  private peak = 0
  /** Results handed over since the last shrink check. */
  private handed = 0

  constructor(private readonly floor: number, private readonly max: number) {
    this.size = floor
  }

  /** Room for `idle` more actions, up to `max`; returns the new size. */
  grow(idle: number): number {
    this.size = Math.min(this.max, this.size + idle)
    return this.size
  }

  /** Whether growing could still make room. */
  get canGrow(): boolean {
    return this.size < this.max
  }

  /** `count` results handed over while `occupancy` actions were held; returns the new size. */
  handedOver(count: number, occupancy: number): number {
    if (occupancy > this.peak) this.peak = occupancy
    this.handed += count
    if (this.handed >= this.size) {
      if (this.peak * 2 <= this.size) this.size = Math.max(this.floor, this.size >> 1)
      // Less than twice its start: halving would stop short of the start, so
      // a window that held no more than its start goes straight back to it.
      else if (this.peak <= this.floor) this.size = this.floor
      this.peak = 0
      this.handed = 0
    }
    return this.size
  }
}

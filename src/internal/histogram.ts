/**
 * The state of a histogram series that effect-ordered keeps itself, and that
 * the metric registry reads (`runtime.histogramSeriesOf`): the same buckets,
 * count, sum, min and max that Effect's own histogram hook keeps, updated by
 * the same binary search, so that `Metric.snapshot` cannot tell them apart.
 * Owning it is what allows an exact batch update (`updateZeros`), which
 * Effect's hook, with one `update(value)` per observation, has not.
 *
 * @internal
 */
export class HistogramState {
  private readonly boundaries: Float64Array
  /** One count per boundary, and one past the last for what no boundary holds (NaN), as Effect keeps it. */
  private readonly values: Uint32Array
  private count = 0
  private sum = 0
  private min = Number.MAX_VALUE
  /** Where 0 goes: the bucket of most observations (an instant action, a result released as it finished). */
  private readonly zeroBucket: number

  /** `initialMax`: what the line reports as `max` before any observation (effect 3: `Number.MIN_VALUE`). */
  constructor(boundaries: ReadonlyArray<number>, private max: number) {
    this.boundaries = Float64Array.from([...boundaries].sort((a, b) => a - b))
    this.values = new Uint32Array(this.boundaries.length + 1)
    this.zeroBucket = this.bucketOf(0)
  }

  /** One observation of `value`. */
  readonly update = (value: number): void => {
    this.values[this.bucketOf(value)]++
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
  }

  /**
   * `times` observations of 0: exactly what `times` updates of 0 record
   * (adding 0 leaves the sum as it is, whatever came before or after).
   */
  updateZeros(times: number): void {
    if (times === 0) return
    this.values[this.zeroBucket] += times
    this.count += times
    if (0 < this.min) this.min = 0
    if (0 > this.max) this.max = 0
  }

  /** What the line's own hook reports: cumulative `[boundary, count]` buckets, count, min, max and sum. */
  snapshot(): {
    readonly buckets: Array<[number, number]>
    readonly count: number
    readonly min: number
    readonly max: number
    readonly sum: number
  } {
    const buckets: Array<[number, number]> = []
    let cumulated = 0
    for (let i = 0; i < this.boundaries.length; i++) {
      cumulated += this.values[i]
      buckets.push([this.boundaries[i], cumulated])
    }
    return { buckets, count: this.count, min: this.min, max: this.max, sum: this.sum }
  }

  /** The bucket of `value`: the first boundary it does not exceed (Effect's search, step for step, NaN included). */
  private bucketOf(value: number): number {
    const boundaries = this.boundaries
    let from = 0
    let to = boundaries.length
    while (from !== to) {
      const mid = Math.floor(from + (to - from) / 2)
      if (value <= boundaries[mid]) to = mid
      else from = mid
      if (to === from + 1) {
        if (value <= boundaries[from]) to = from
        else from = to
      }
    }
    return from
  }
}

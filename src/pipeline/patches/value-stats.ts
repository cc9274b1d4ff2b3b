/** Mean, spread and range of every value written to a patch file column, gathered batch by batch. */
export interface ValueStats {
  readonly mean: number
  readonly std: number
  readonly min: number
  readonly max: number
}

export class RunningStats {
  count = 0
  sum = 0
  sumSq = 0
  min = Infinity
  max = -Infinity
  add(values: Float32Array): void {
    let sum = 0
    let sumSq = 0
    let min = this.min
    let max = this.max
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      sum += v
      sumSq += v * v
      if (v < min) min = v
      if (v > max) max = v
    }
    this.count += values.length
    this.sum += sum
    this.sumSq += sumSq
    this.min = min
    this.max = max
  }
  result(): ValueStats {
    const mean = this.sum / Math.max(this.count, 1)
    return {
      mean,
      std: Math.sqrt(Math.max(this.sumSq / Math.max(this.count, 1) - mean * mean, 0)),
      min: this.min,
      max: this.max
    }
  }
}

/**
 * Points → protocol v1 batches. One collection yields one batch unless it would break
 * the protocol's limits (10,000 points, a 1 MiB body); then it is split.
 */
import { randomBytes } from 'node:crypto'
import type { Clock } from '../internal/timers.js'
import type { MetricBatch, MetricPoint } from '../types.js'

/** Half the protocol's point limit, so that a server's own accounting never trips. */
export const MAX_POINTS_PER_BATCH = 5_000
/** Estimated JSON size per batch: half the 1 MiB body limit, for escaping and multi-byte text. */
export const MAX_BATCH_BYTES = 512 * 1024

/** Used when the client has no service of its own (it only discovers and reads config); a valid protocol v1 service name. */
export const UNKNOWN_SERVICE = 'unknown-service'

export interface BatchBuilderOptions {
  readonly service: string | undefined
  readonly instanceId: string
  readonly clock: Clock
}

export class BatchBuilder {
  private sequence = 0
  /** Unique per process run, so ids stay unique across restarts with the same instance id. */
  private readonly prefix: string

  constructor(private readonly options: BatchBuilderOptions) {
    this.prefix = `${options.instanceId.slice(0, 80)}-${randomBytes(6).toString('hex')}`
  }

  build(points: readonly MetricPoint[]): MetricBatch[] {
    if (points.length === 0) return []
    const timestamp = this.options.clock.now()
    const batches: MetricBatch[] = []
    let start = 0
    let bytes = 0
    for (let i = 0; i < points.length; i++) {
      const size = estimateBytes(points[i] as MetricPoint)
      if (i > start && (i - start >= MAX_POINTS_PER_BATCH || bytes + size > MAX_BATCH_BYTES)) {
        batches.push(this.batch(points.slice(start, i), timestamp))
        start = i
        bytes = 0
      }
      bytes += size
    }
    batches.push(this.batch(start === 0 ? points : points.slice(start), timestamp))
    return batches
  }

  private batch(points: readonly MetricPoint[], timestamp: number): MetricBatch {
    this.sequence += 1
    return {
      batchId: `${this.prefix}-${this.sequence}`,
      service: this.options.service ?? UNKNOWN_SERVICE,
      instance: this.options.instanceId,
      timestamp,
      points,
    }
  }
}

/** A cheap upper-ish bound of a point's JSON size (no stringify on the collection path). */
export function estimateBytes(point: MetricPoint): number {
  let n = 80 + point.name.length + (point.help?.length ?? 0)
  for (const k in point.labels) n += 6 + k.length + (point.labels[k] as string).length
  if (point.kind === 'histogram') n += 60 + point.buckets.length * 24
  return n
}

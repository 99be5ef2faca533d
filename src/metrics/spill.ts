/**
 * Pending batches mirrored on disk, one file per batch in a folder per sink, so that a
 * restarted application (crash included) sends what its previous run could not. Files
 * are written atomically; the name orders them oldest first.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../internal/atomic-file.js'
import type { Logger } from '../internal/logger.js'
import type { MetricBatch } from '../types.js'

export interface SpilledBatch {
  readonly key: string
  readonly batch: MetricBatch
}

export class SpillStore {
  private sequence = 0
  /** Keeps keys of two runs apart even when their clocks agree (fake clocks in tests do). */
  private readonly run = randomBytes(4).toString('hex')

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** The folder for one sink's batches under dataDir. */
  static forSink(dataDir: string, sinkName: string, logger: Logger): SpillStore {
    return new SpillStore(join(dataDir, 'metrics', `sink-${encodeURIComponent(sinkName)}`), logger)
  }

  /** A unique file key that sorts by the batch's time, then by its order in this run. */
  nextKey(batch: MetricBatch): string {
    this.sequence += 1
    const time = String(Math.max(0, Math.floor(batch.timestamp))).padStart(15, '0')
    return `${time}-${String(this.sequence).padStart(10, '0')}-${this.run}`
  }

  async save(key: string, batch: MetricBatch): Promise<void> {
    await writeFileAtomic(join(this.dir, `${key}.json`), JSON.stringify(batch))
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.dir, `${key}.json`), { force: true })
  }

  /** Every readable batch, oldest first; unreadable files are removed (and logged). */
  async load(): Promise<SpilledBatch[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const out: SpilledBatch[] = []
    for (const name of names.sort()) {
      if (name.startsWith('.')) {
        // A temp file from a write that a crash interrupted: never a complete batch.
        await rm(join(this.dir, name), { force: true })
        continue
      }
      if (!name.endsWith('.json')) continue
      const key = name.slice(0, -'.json'.length)
      const batch = await this.read(name)
      if (batch === undefined) await rm(join(this.dir, name), { force: true })
      else out.push({ key, batch })
    }
    return out
  }

  private async read(name: string): Promise<MetricBatch | undefined> {
    try {
      const value: unknown = JSON.parse(await readFile(join(this.dir, name), 'utf8'))
      if (isBatch(value)) return value
    } catch {
      // fall through: reported below
    }
    this.logger.warn('metrics: removed an unreadable spilled batch', { file: join(this.dir, name) })
    return undefined
  }
}

function isBatch(value: unknown): value is MetricBatch {
  if (typeof value !== 'object' || value === null) return false
  const b = value as Record<string, unknown>
  return (
    typeof b.batchId === 'string' &&
    typeof b.service === 'string' &&
    typeof b.instance === 'string' &&
    typeof b.timestamp === 'number' &&
    Array.isArray(b.points)
  )
}

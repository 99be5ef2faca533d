/**
 * The last snapshot of each service on disk (`<dataDir>/discovery/<service>.json`), written
 * atomically (by the shared snapshot writer) and read back only at a cold start when the server cannot be reached.
 */
import { join } from 'node:path'
import { readJsonFile } from '../internal/atomic-file.js'
import { INSTANCE_STATUSES, isRevision, type Instance, type ServiceSnapshot } from '../types.js'
import { SERVICE_NAME_PATTERN as SAFE_NAME } from '../internal/names.js'

const FORMAT = 1
// Protocol v1 service names are safe file names; anything else is not written to disk.

export interface StoredSnapshot {
  readonly snapshot: ServiceSnapshot
  /** When it was written (clock ms): the last time it was known to match the server. */
  readonly savedAt: number
}

/** The file of a service, or undefined when the name is not a safe file name. */
export function snapshotPath(dataDir: string, service: string): string | undefined {
  return SAFE_NAME.test(service) ? join(dataDir, 'discovery', `${service}.json`) : undefined
}

/** The file's content; written through the shared snapshot writer (src/feed/snapshot-writer.ts). */
export function renderSnapshot(snapshot: ServiceSnapshot, savedAt: number): string {
  const body = { format: FORMAT, service: snapshot.service, revision: snapshot.revision, savedAt, instances: snapshot.instances }
  return `${JSON.stringify(body)}\n`
}

/** The stored snapshot; undefined when there is none. Throws on unreadable or malformed files. */
export async function readSnapshot(path: string, service: string): Promise<StoredSnapshot | undefined> {
  const raw = await readJsonFile(path)
  if (raw === undefined) return undefined
  const doc = raw as Record<string, unknown>
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT) throw new Error(`${path}: not a discovery snapshot (format ${FORMAT})`)
  if (doc.service !== service || !isRevision(doc.revision) || typeof doc.savedAt !== 'number' || !Array.isArray(doc.instances)) {
    throw new Error(`${path}: malformed snapshot header`)
  }
  const instances = doc.instances.map((value: unknown, i: number) => {
    if (!isInstance(value, service)) throw new Error(`${path}: malformed instance at index ${i}`)
    return value
  })
  return { snapshot: { service, revision: doc.revision, instances }, savedAt: doc.savedAt }
}

function isInstance(value: unknown, service: string): value is Instance {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.id === 'string' &&
    v.service === service &&
    typeof v.address === 'string' &&
    Number.isInteger(v.port) &&
    (INSTANCE_STATUSES as readonly unknown[]).includes(v.status) &&
    typeof v.weight === 'number' &&
    (v.zone === undefined || typeof v.zone === 'string') &&
    Array.isArray(v.tags) &&
    v.tags.every((t) => typeof t === 'string') &&
    typeof v.metadata === 'object' &&
    v.metadata !== null &&
    Object.values(v.metadata).every((m) => typeof m === 'string')
  )
}

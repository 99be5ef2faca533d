/**
 * The one-file config format of earlier releases, `<dataDir>/config.json`
 * (`governance-config/1`), read once at start so that ConfigDisk can move it into per-key
 * files. Nothing writes it any more.
 */
import { join } from 'node:path'
import { readJsonFile } from '../internal/atomic-file.js'
import { isRevision } from '../types.js'

const FORMAT = 'governance-config/1'

export interface StoredEntry {
  readonly key: string
  readonly version: bigint
  /** The JSON text of the value. */
  readonly json: string
}

export interface LegacySnapshot {
  /** Index of the latest config change. */
  readonly index: bigint
  readonly entries: ReadonlyMap<string, StoredEntry>
}

export function legacyConfigPath(dataDir: string): string {
  return join(dataDir, 'config.json')
}

/** The legacy file's content; undefined when there is none. Throws naming the file when it is not one. */
export async function loadLegacyConfigFile(dataDir: string): Promise<LegacySnapshot | undefined> {
  const path = legacyConfigPath(dataDir)
  const fail = (why: string): never => {
    throw new Error(`${path} is not a governance config file (${why}); move it away or fix it`)
  }
  let data: unknown
  try {
    data = await readJsonFile(path)
  } catch (error) {
    return fail((error as Error).message)
  }
  if (data === undefined) return undefined
  if (typeof data !== 'object' || data === null) return fail('not an object')
  const { format, index, entries } = data as Record<string, unknown>
  if (format !== FORMAT) fail(`format is ${JSON.stringify(format)}`)
  if (!isRevision(index)) fail('index is not a decimal string')
  if (!Array.isArray(entries)) return fail('entries is not an array')
  const map = new Map<string, StoredEntry>()
  let highest = BigInt(index as string)
  for (const item of entries as unknown[]) {
    const { key, version, json } = (item ?? {}) as Record<string, unknown>
    if (typeof key !== 'string' || !isRevision(version) || typeof json !== 'string') return fail('an entry is malformed')
    const v = BigInt(version)
    if (v > highest) highest = v
    map.set(key, { key, version: v, json })
  }
  return { index: highest, entries: map }
}

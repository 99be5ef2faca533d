/**
 * The config snapshot on disk: `<dataDir>/config.json`, replaced atomically on every
 * committed write (src/internal/atomic-file.ts).
 *
 * Versions never go backwards across restarts because the file records `index`, the
 * index of the latest config change, deletions included; the server resumes its counter
 * above it. Deleted keys are therefore not kept as tombstones on disk. Each value is kept
 * as its JSON text, so loading never has to re-serialise a deeply nested value.
 */
import { join } from 'node:path'
import { readJsonFile, writeFileAtomic } from '../internal/atomic-file.js'
import { isRevision } from '../types.js'

const FORMAT = 'governance-config/1'

export interface StoredEntry {
  readonly key: string
  readonly version: bigint
  /** The JSON text of the value. */
  readonly json: string
}

export interface ConfigSnapshot {
  /** Index of the latest config change (1 when there never was one). */
  readonly index: bigint
  readonly entries: ReadonlyMap<string, StoredEntry>
}

export function configFilePath(dataDir: string): string {
  return join(dataDir, 'config.json')
}

export async function loadConfigFile(dataDir: string): Promise<ConfigSnapshot> {
  const path = configFilePath(dataDir)
  const data = await readJsonFile(path)
  if (data === undefined) return { index: 1n, entries: new Map() }
  const fail = (why: string): never => {
    throw new Error(`${path} is not a governance config file (${why}); move it away or fix it`)
  }
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

export async function saveConfigFile(dataDir: string, snapshot: ConfigSnapshot): Promise<void> {
  const entries = [...snapshot.entries.values()].map((e) => ({ key: e.key, version: e.version.toString(), json: e.json }))
  const text = JSON.stringify({ format: FORMAT, index: snapshot.index.toString(), entries })
  await writeFileAtomic(configFilePath(dataDir), text)
}

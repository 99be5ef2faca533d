/**
 * The main entry's fence: src/index.ts names every export (no `export *`), docs/api.md lists
 * exactly those names, the runtime values match the value exports, and the wiring that
 * issue 17 took out of the surface stays out.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import * as entry from 'governance-client'
import * as backendEntry from 'governance-client/backend'
import * as httpEntry from 'governance-client/http'

const ROOT = new URL('../../', import.meta.url)
const read = (path: string): Promise<string> => readFile(new URL(path, ROOT), 'utf8')

interface Listed {
  readonly values: string[]
  readonly types: string[]
}

/** The names of every `export { … } from` / `export type { … } from` list of a module. */
function exportLists(source: string): Listed {
  const values: string[] = []
  const types: string[] = []
  for (const m of source.matchAll(/^export (type )?\{([^}]*)\}/gm)) {
    for (const raw of m[2]!.split(',')) {
      const spec = raw.trim()
      if (spec === '') continue
      const typeOnly = m[1] !== undefined || spec.startsWith('type ')
      const name = spec.replace(/^type /, '').split(/\s+as\s+/).pop()!.trim()
      ;(typeOnly ? types : values).push(name)
    }
  }
  return { values: values.sort(), types: types.sort() }
}

/** The backquoted names of docs/api.md's table of the main entry. */
function documentedNames(doc: string): string[] {
  const section = doc.split('## `governance-client`')[1]!.split('\nNot exported')[0]!
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| group') && !line.startsWith('| ---'))
  const names = rows.flatMap((row) => row.split('|').slice(2).flatMap((cell) => [...cell.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]!)))
  return names.sort()
}

describe('the main entry', async () => {
  const source = await read('src/index.ts')
  const listed = exportLists(source)

  it('lists every export by name', () => {
    expect(source).not.toMatch(/^export (type )?\*/m)
    expect(listed.values.length + listed.types.length).toBeGreaterThan(100)
  })

  it('exports at run time exactly its listed values', () => {
    expect(Object.keys(entry).sort()).toEqual(listed.values)
  })

  it('is listed in docs/api.md, name for name', async () => {
    expect(documentedNames(await read('docs/api.md'))).toEqual([...listed.values, ...listed.types].sort())
  })

  it('keeps the wiring out', () => {
    const wiring = ['createConfigClient', 'createMetrics', 'createUpstreamRecorder', 'resolveConfigOptions', 'resolveMetricsOptions', 'DEFAULT_CONFIG_OPTIONS', 'UNKNOWN_SERVICE']
    const wiringTypes = ['ResolvedConfigOptions', 'ResolvedMetricsOptions', 'MetricsContext', 'EmitFn', 'Clock', 'TransportOptions', 'UpstreamOutcome', 'UpstreamRecorder']
    const all = new Set([...listed.values, ...listed.types])
    expect([...wiring, ...wiringTypes].filter((name) => all.has(name))).toEqual([])
    expect(wiring.filter((name) => name in entry)).toEqual([])
  })
})

describe('the entries beside the main one', () => {
  it('keeps the main entry within its budget: issue 17 took it from 127 names to at most 117', async () => {
    const listed = exportLists(await read('src/index.ts'))
    expect(listed.values.length + listed.types.length).toBeLessThanOrEqual(117)
  })

  it('gives backend authors the seam and the revision helpers at governance-client/backend', async () => {
    expect(Object.keys(backendEntry).sort()).toEqual(['compareRevisions', 'isRevision'])
    const listed = exportLists(await read('src/backends/index.ts'))
    for (const name of ['Backend', 'Watcher', 'WatchMeta', 'Lease', 'ServiceSnapshot', 'ConfigEntry', 'MetricBatch']) expect(listed.types).toContain(name)
    expect(backendEntry.compareRevisions('10', '9')).toBeGreaterThan(0)
  })

  it('has the protocol v1 backend at governance-client/http', () => {
    expect(typeof httpEntry.httpBackend).toBe('function')
    expect('httpBackend' in entry).toBe(false)
  })

  it('documents every subpath of package.json in docs/api.md', async () => {
    const pkg = JSON.parse(await read('package.json')) as { exports: Record<string, unknown> }
    const doc = await read('docs/api.md')
    const missing = Object.keys(pkg.exports)
      .filter((sub) => sub !== '.' && sub !== './package.json')
      .filter((sub) => !doc.includes(`\`governance-client${sub.slice(1)}\``) && !doc.includes(`\`/${sub.split('/').pop()}\``))
    expect(missing).toEqual([])
  })
})

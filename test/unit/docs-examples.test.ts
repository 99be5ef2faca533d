/**
 * The documentation shows runnable examples: a ```ts block right after a line
 * `<!-- example: docs/examples/…/name.test.ts -->` must appear verbatim in that file, which
 * runs in the suite. So an example that is edited in one place and not the other fails here.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const MARKED_BLOCK = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```/g

async function markdownFiles(dir: string): Promise<string[]> {
  const entries = await readdir(new URL(dir, ROOT), { withFileTypes: true })
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? markdownFiles(`${dir}${e.name}/`) : Promise.resolve(e.name.endsWith('.md') ? [`${dir}${e.name}`] : []))),
  )
  return nested.flat()
}

async function examplesOf(doc: string): Promise<{ file: string; block: string }[]> {
  const text = await readFile(new URL(doc, ROOT), 'utf8')
  return [...text.matchAll(MARKED_BLOCK)].map((m) => ({ file: m[1]!, block: m[2]! }))
}

describe('documentation examples', async () => {
  const docs = await markdownFiles('docs/')
  const marked = (await Promise.all(docs.map(async (doc) => (await examplesOf(doc)).map((e) => ({ doc, ...e }))))).flat()

  it('finds the marked examples (docs/testing.md has some)', () => {
    expect(marked.filter((m) => m.doc === 'docs/testing.md').length).toBeGreaterThanOrEqual(5)
  })

  it.each(marked.map((m, i) => [`${m.doc} #${i + 1} (${m.file})`, m] as const))('%s is verbatim in its test file', async (_name, m) => {
    expect(m.file).toMatch(/^docs\/examples\/.+\.test\.ts$/)
    const source = await readFile(new URL(m.file, ROOT), 'utf8')
    expect(source.includes(m.block), `the block in ${m.doc} differs from ${m.file}`).toBe(true)
  })

  it('shows every example file of docs/examples/testing in docs/testing.md', async () => {
    const files = (await readdir(new URL('docs/examples/testing/', ROOT))).filter((f) => f.endsWith('.test.ts'))
    const shown = new Set(marked.filter((m) => m.doc === 'docs/testing.md').map((m) => m.file))
    expect(files.map((f) => join('docs/examples/testing', f)).filter((f) => !shown.has(f))).toEqual([])
  })
})

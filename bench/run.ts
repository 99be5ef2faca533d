/**
 * `npm run bench [-- name…]`: runs the suites in bench/suites (all, or those named),
 * prints a table per comparison and writes bench/results/<date>.json.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { type BenchSuite, type ComparisonResult } from './lib.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const files = (await readdir(join(here, 'suites'))).filter((f) => f.endsWith('.ts')).sort()
const results: Record<string, readonly ComparisonResult[]> = {}
console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`)
for (const file of files) {
  const name = file.replace(/\.ts$/, '')
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`\n# ${name}`)
  const mod = (await import(pathToFileURL(join(here, 'suites', file)).href)) as { default: BenchSuite }
  results[name] = await mod.default()
}
await mkdir(join(here, 'results'), { recursive: true })
const out = join(here, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
await writeFile(out, JSON.stringify({ node: process.version, cpus: cpus().length, results }, null, 2))
console.log(`\nresults written to ${out}`)

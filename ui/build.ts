/**
 * Builds the console into dist/ui: one bundled, minified app.js (uPlot included), one
 * app.css (ours plus uPlot's) and index.html. Nothing is fetched from outside at run time.
 */
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'dist', 'ui')

export async function buildConsole(): Promise<string> {
  mkdirSync(out, { recursive: true })
  await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    outfile: join(out, 'app.js'),
    legalComments: 'none',
    logLevel: 'warning',
  })
  const uplotCss = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'utf8')
  writeFileSync(join(out, 'app.css'), `${uplotCss}\n${readFileSync(join(here, 'style.css'), 'utf8')}`)
  copyFileSync(join(here, 'index.html'), join(out, 'index.html'))
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = await buildConsole()
  console.log(`console built into ${dir}`)
}

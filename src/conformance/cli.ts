/**
 * `governance-conformance --url http://host:port [--token T] [--read-token R]` (the package's
 * bin, src/bin/governance-conformance.ts; `npm run conformance -- …` in this repository).
 * Prints `ok <name>` / `FAIL <name>: <why>` per check and `N passed, M failed`; exits 1 if
 * any check failed, 2 on bad arguments.
 */
import { parseArgs } from 'node:util'
import { runConformance, type ConformanceResult } from './suite.js'

const USAGE = `Usage: governance-conformance --url http://host:port [--token T] [--read-token R] [--filter TEXT] [--concurrency N]`

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'read-token': { type: 'string' },
      filter: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return 'help' as const
  if (values.url === undefined) throw new Error('--url is required')
  let url: URL
  try {
    url = new URL(values.url)
  } catch {
    throw new Error(`--url is not a URL: ${values.url}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be http or https, not ${url.protocol}`)
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error('--concurrency must be an integer from 1 to 64')
  return { url: url.origin, token: values.token, readToken: values['read-token'], filter: values.filter, concurrency }
}

function line(result: ConformanceResult): string {
  if (result.skipped !== undefined) return `skip ${result.name} (${result.skipped})`
  return result.ok ? `ok ${result.name} (${Math.round(result.ms)} ms)` : `FAIL ${result.name}: ${result.error}`
}

async function main(): Promise<void> {
  let options
  try {
    options = parse(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`conformance: ${(error as Error).message}\n${USAGE}\n`)
    process.exit(2)
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const report = await runConformance({
    url: options.url,
    concurrency: options.concurrency,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.readToken === undefined ? {} : { readToken: options.readToken }),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    onResult: (result) => process.stdout.write(`${line(result)}\n`),
  })
  const skipped = report.skipped > 0 ? `, ${report.skipped} skipped` : ''
  process.stdout.write(`${report.passed} passed, ${report.failed} failed${skipped}\n`)
  process.exit(report.failed > 0 ? 1 : 0)
}

void main()

#!/usr/bin/env node
/**
 * The `governance-server` bin. Prints one line when listening; SIGTERM or SIGINT closes
 * gracefully and exits 0; bad arguments exit 2; a failure to start exits 1.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { createConsoleLogger } from '../internal/logger.js'
import { createGovernanceServer, type GovernanceServerOptions } from './index.js'
import { LIMIT_NAMES, LIMIT_SPECS } from './limits.js'

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** The limit flags, from the one table in limits.ts: `--max-connections <n>` and so on. */
const LIMIT_FLAGS = LIMIT_NAMES.map((name) => ({ name, flag: LIMIT_SPECS[name].flag }))

const USAGE = `Usage: governance-server [options]

  --port <n>          TCP port, 0 for any free one (default 7070, env GOVERNANCE_PORT)
  --host <addr>       address to bind (default 127.0.0.1, env GOVERNANCE_HOST)
  --data-dir <dir>    persist config here (default: memory only, env GOVERNANCE_DATA_DIR)
  --token <t>         token with read and write rights (env GOVERNANCE_TOKEN)
  --read-token <t>    token that may only read; needs --token (env GOVERNANCE_READ_TOKEN)
  --config-history <n>  versions kept per config key (default 50)
  --max-body-bytes <n>  largest request body (default 1048576)
  --metrics-retention-ms <n>  drop an instance's metrics after this long without a batch
${LIMIT_FLAGS.map(({ flag }) => `  --${flag} <n>`).join('\n')}
                      limits; defaults and meaning in docs/server.md
  --history-resolution <ms>  metric history slot width (default 10000)
  --history-duration <ms>    how far metric history reaches (default 3600000)
  --version           print the version
  --help              show this help
`

class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>

function parseFlags(argv: readonly string[]): Values {
  const numeric = ['config-history', 'max-body-bytes', 'metrics-retention-ms', 'history-resolution', 'history-duration', ...LIMIT_FLAGS.map((l) => l.flag)]
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        'read-token': { type: 'string' },
        ...Object.fromEntries(numeric.map((flag) => [flag, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }).values
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** A decimal integer without leading zeros (`08080` is refused: it is ambiguous), named as the user gave it. */
function integerArg(text: string | undefined, source: string, max: number): number | undefined {
  if (text === undefined) return undefined
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || Number(text) > max) throw new UsageError(`${source} must be an integer from 0 to ${max}, not ${JSON.stringify(text)}`)
  return Number(text)
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): GovernanceServerOptions | 'help' | 'version' {
  const values = parseFlags(argv)
  if (values['help'] === true) return 'help'
  if (values['version'] === true) return 'version'
  const flag = (name: string): string | undefined => values[name] as string | undefined
  // An empty environment variable counts as unset, for every variable alike.
  const pick = (name: string, variable: string): { value: string | undefined; source: string } => {
    const given = flag(name)
    if (given !== undefined) return { value: given === '' ? undefined : given, source: `--${name}` }
    return { value: env[variable] === '' ? undefined : env[variable], source: variable }
  }
  const port = pick('port', 'GOVERNANCE_PORT')
  const token = pick('token', 'GOVERNANCE_TOKEN').value
  const readToken = pick('read-token', 'GOVERNANCE_READ_TOKEN')
  if (readToken.value !== undefined && token === undefined) {
    throw new UsageError(`${readToken.source} needs --token (or GOVERNANCE_TOKEN) too: with only a read token nothing could write`)
  }
  const numbers: Record<string, number> = {}
  const numeric = [
    ['configHistory', 'config-history'],
    ['maxBodyBytes', 'max-body-bytes'],
    ['metricsRetentionMs', 'metrics-retention-ms'],
    ...LIMIT_FLAGS.map(({ name, flag: f }) => [name, f]),
  ] as const
  for (const [option, f] of numeric) {
    const n = integerArg(flag(f), `--${f}`, Number.MAX_SAFE_INTEGER)
    if (n !== undefined) numbers[option] = n
  }
  const dataDir = pick('data-dir', 'GOVERNANCE_DATA_DIR').value
  const metricHistory = historyFlags(flag('history-resolution'), flag('history-duration'))
  return {
    ...(metricHistory === undefined ? {} : { metricHistory }),
    port: integerArg(port.value, port.source, 65_535) ?? 7070,
    host: pick('host', 'GOVERNANCE_HOST').value ?? '127.0.0.1',
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(token === undefined ? {} : { token }),
    ...(readToken.value === undefined ? {} : { readToken: readToken.value }),
    ...numbers,
  }
}

/** The package's version, from the package.json above the running script (src/ or dist/). */
function packageVersion(): string {
  let dir = dirname(realpathSync(process.argv[1] ?? '.'))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'governance-client' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here: look one level up
    }
  }
  return 'unknown'
}

function historyFlags(resolution: string | undefined, duration: string | undefined): GovernanceServerOptions['metricHistory'] {
  const resolutionMs = integerArg(resolution, '--history-resolution', Number.MAX_SAFE_INTEGER)
  const durationMs = integerArg(duration, '--history-duration', Number.MAX_SAFE_INTEGER)
  if (resolutionMs === undefined && durationMs === undefined) return undefined
  return { ...(resolutionMs === undefined ? {} : { resolutionMs }), ...(durationMs === undefined ? {} : { durationMs }) }
}

async function main(): Promise<void> {
  let options
  try {
    options = parseOptions(process.argv.slice(2), process.env)
  } catch (error) {
    process.stderr.write(`governance-server: ${(error as Error).message}\nTry --help.\n`)
    process.exit(2)
  }
  if (options === 'help') {
    process.stdout.write(USAGE)
    return
  }
  if (options === 'version') {
    process.stdout.write(`governance-server ${packageVersion()}\n`)
    return
  }
  const logger = createConsoleLogger('[governance-server]')
  let server
  try {
    server = await createGovernanceServer({ ...options, logger })
  } catch (error) {
    // Option messages use the API's names; the flag a user typed is the same word in kebab case.
    const message = (error as Error).message.replace(/^server\.(\w+)/, (_m, name: string) => `--${kebab(name)}`)
    process.stderr.write(`governance-server: ${message}\n`)
    process.exit((error as { code?: string }).code === 'GOV_INVALID_ARGUMENT' ? 2 : 1)
  }
  process.stdout.write(`governance-server listening on ${server.url}\n`)
  let stopping = false
  const stop = (): void => {
    if (stopping) process.exit(1) // a second signal: stop waiting
    stopping = true
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`governance-server: close failed: ${(error as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

void main()

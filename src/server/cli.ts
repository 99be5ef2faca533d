#!/usr/bin/env node
/**
 * The `governance-server` bin. Prints one line when listening; SIGTERM or SIGINT closes
 * gracefully and exits 0; bad arguments exit 2; a failure to start exits 1.
 */
import { parseArgs } from 'node:util'
import { createConsoleLogger } from '../internal/logger.js'
import { createGovernanceServer, type GovernanceServerOptions } from './index.js'

const USAGE = `Usage: governance-server [options]

  --port <n>          TCP port, 0 for any free one (default 7070, env GOVERNANCE_PORT)
  --host <addr>       address to bind (default 127.0.0.1, env GOVERNANCE_HOST)
  --data-dir <dir>    persist config here (default: memory only, env GOVERNANCE_DATA_DIR)
  --token <t>         token with read and write rights (env GOVERNANCE_TOKEN)
  --read-token <t>    token that may only read (env GOVERNANCE_READ_TOKEN)
  --history-resolution <ms>  metric history slot width (default 10000)
  --history-duration <ms>    how far metric history reaches (default 3600000)
  --help              show this help
`

class UsageError extends Error {}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): GovernanceServerOptions | 'help' {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        'read-token': { type: 'string' },
        'history-resolution': { type: 'string' },
        'history-duration': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) return 'help'
  // An empty environment variable counts as unset, for every variable alike.
  const pick = (value: string | undefined, name: string): string | undefined => {
    const chosen = value ?? env[name]
    return chosen === '' ? undefined : chosen
  }
  const portText = pick(values.port, 'GOVERNANCE_PORT') ?? '7070'
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65_535) throw new UsageError(`--port must be an integer from 0 to 65535, not ${JSON.stringify(portText)}`)
  const dataDir = pick(values['data-dir'], 'GOVERNANCE_DATA_DIR')
  const token = pick(values.token, 'GOVERNANCE_TOKEN')
  const readToken = pick(values['read-token'], 'GOVERNANCE_READ_TOKEN')
  const metricHistory = historyFlags(values['history-resolution'], values['history-duration'])
  return {
    ...(metricHistory === undefined ? {} : { metricHistory }),
    port: Number(portText),
    host: pick(values.host, 'GOVERNANCE_HOST') ?? '127.0.0.1',
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(token === undefined ? {} : { token }),
    ...(readToken === undefined ? {} : { readToken }),
  }
}

function historyFlags(resolution: string | undefined, duration: string | undefined): GovernanceServerOptions['metricHistory'] {
  const ms = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined
    if (!/^[0-9]{1,10}$/.test(text)) throw new UsageError(`--${flag} must be a whole number of milliseconds, not ${JSON.stringify(text)}`)
    return Number(text)
  }
  const resolutionMs = ms('history-resolution', resolution)
  const durationMs = ms('history-duration', duration)
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
  const logger = createConsoleLogger('[governance-server]')
  let server
  try {
    server = await createGovernanceServer({ ...options, logger })
  } catch (error) {
    process.stderr.write(`governance-server: ${(error as Error).message}\n`)
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

/**
 * The seed document's three Flask centers, run for real (python3 + Flask, Debian's
 * python3-flask) by test/fixtures/seed_centers.py from the seed text itself. Outside CI a
 * missing python3 or Flask skips with a one-line notice; with CI=true it fails the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const FLASK_INSTALL_HINT = 'apt-get install python3-flask'
// The seed text lives in shared/ beside the repository (CI lays a copy there too).
const SEED_TEXT = process.env.SEED_TEXT ?? fileURLToPath(new URL('../../../shared/seed/000_bae49655f734c515.txt', import.meta.url))
const LAUNCHER = fileURLToPath(new URL('../fixtures/seed_centers.py', import.meta.url))

export interface FlaskCenters {
  readonly registry: string
  readonly monitor: string
  readonly config: string
  stop(): Promise<void>
}

export function flaskAvailable(suite: string): boolean {
  const probe = spawnSync('python3', ['-c', 'import flask, werkzeug'], { stdio: 'ignore' })
  const problem = probe.status !== 0 ? `python3 with Flask is missing (${FLASK_INSTALL_HINT})` : !existsSync(SEED_TEXT) ? `the seed text is missing (${SEED_TEXT}; set SEED_TEXT)` : undefined
  if (problem === undefined) return true
  const message = `${suite} need the seed's real Flask centers: ${problem}`
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true, so this is a failure, not a skip`)
  console.warn(`[skip] ${message}`)
  return false
}

export async function startFlaskCenters(timeoutMs = 15_000): Promise<FlaskCenters> {
  const child: ChildProcess = spawn('python3', [LAUNCHER, SEED_TEXT], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(child, 'exit')
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Flask centers did not start within ${timeoutMs} ms: ${err}`)), timeoutMs)
      child.stdout!.on('data', () => {
        const found = /^centers registry=(\S+) monitor=(\S+) config=(\S+)$/m.exec(out)
        if (found) {
          clearTimeout(timer)
          resolve(found)
        }
      })
      void exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`the Flask centers exited before listening: ${err}`))
      })
    })
    return { registry: match[1]!, monitor: match[2]!, config: match[3]!, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

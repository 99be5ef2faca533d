import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, expect, it } from 'vitest'

let demo: ChildProcess | undefined
afterEach(() => {
  // A failed or timed-out test must not leave the demo (and its servers) running: tsx runs
  // it in a child of its own, so the whole process group goes.
  if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid, 'SIGKILL')
  demo = undefined
})

// The README's first command must stay true: the demo runs, prints each step and exits 0.
it('npm run demo runs every step and exits 0 in under 15 s', async () => {
  const child = spawn('node_modules/.bin/tsx', ['examples/demo.ts'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  demo = child
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const started = Date.now()
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const elapsed = Date.now() - started
  expect(err).toBe('')
  expect(code).toBe(0)
  expect(elapsed).toBeLessThan(15_000)
  for (const fact of [
    /reference server listening on http:\/\/127\.0\.0\.1:\d+/,
    /orders registered as \S+ on port \d+/,
    /payments registered as \S+ on port \d+/,
    /orders discovers payments: 127\.0\.0\.1:\d+/,
    /payments discovers orders: 127\.0\.0\.1:\d+/,
    /orders -> payments \/charge -> orders \/status: \{"charged":true,"order":\{"status":"open"\}\}/,
    /payments sees config "checkout" = \{"discountPercent":10\}/,
    /server's latest metrics for payments: .*charges_total=1/,
    /console at http:\/\/127\.0\.0\.1:\d+\/ui\/ \(npm run demo -- --keep keeps it up\)/,
    /orders has 0 instances at the server/,
    /demo done/,
  ]) {
    expect(out).toMatch(fact)
  }
}, 30_000)

// --keep prints the console's URL and serves it until SIGTERM, then stops cleanly.
it('npm run demo -- --keep serves the console until SIGTERM', async () => {
  const child = spawn('node_modules/.bin/tsx', ['examples/demo.ts', '--keep'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  demo = child
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  await expect.poll(() => /console at (\S+) \(kept running/.exec(out)?.[1], { timeout: 25_000 }).toBeDefined()
  const url = /console at (\S+) \(kept running/.exec(out)![1]!
  const page = await fetch(url)
  expect(page.status).toBe(200)
  expect(await page.text()).toContain('<main id="main">')
  // The traffic loop keeps the charts moving: payments gets calls after the console line.
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  expect(((await (await fetch(url.replace('/ui/', '/v1/services/payments'))).json()) as { instances: unknown[] }).instances).toHaveLength(1)
  process.kill(child.pid!, 'SIGTERM') // tsx passes it on to the demo
  expect(await exited).toBe(0)
  expect(out).toMatch(/demo done/)
}, 40_000)

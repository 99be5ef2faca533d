import { spawn } from 'node:child_process'
import { expect, it } from 'vitest'

// The README's first command must stay true: the demo runs, prints each step and exits 0.
it('npm run demo runs every step and exits 0 in under 15 s', async () => {
  const child = spawn('node_modules/.bin/tsx', ['examples/demo.ts'], { stdio: ['ignore', 'pipe', 'pipe'] })
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
    /orders has 0 instances at the server/,
    /demo done/,
  ]) {
    expect(out).toMatch(fact)
  }
}, 30_000)

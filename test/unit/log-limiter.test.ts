import { afterEach, describe, expect, it, vi } from 'vitest'
import { limitLogger } from '../../src/internal/log-limiter.js'
import type { Logger } from '../../src/internal/logger.js'

function recorder(): Logger & { lines: [string, string, Record<string, unknown> | undefined][] } {
  const lines: [string, string, Record<string, unknown> | undefined][] = []
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push([level, message, fields])
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

afterEach(() => vi.unstubAllEnvs())

describe('limitLogger', () => {
  it('lets `burst` lines alike through per window, then says how many it held back', () => {
    let t = 0
    const out = recorder()
    const log = limitLogger(out, { burst: 2, windowMs: 10_000, now: () => t })
    for (let i = 0; i < 50; i++) {
      log.warn(`watch of payments failed (attempt ${i}, retry in ${i * 10} ms)`)
      t += 100
    }
    log.warn('another line')
    expect(out.lines.map(([level, m]) => `${level} ${m}`)).toEqual([
      'warn watch of payments failed (attempt 0, retry in 0 ms)',
      'warn watch of payments failed (attempt 1, retry in 10 ms)',
      'warn another line',
    ])
    t += 10_000
    log.warn('watch of payments failed (attempt 99, retry in 990 ms)')
    expect(out.lines.at(-1)![1]).toBe('watch of payments failed (attempt 99, retry in 990 ms) (48 more like it in the previous 10 s not shown)')
  })

  it('keeps levels apart and bounds the lines it tracks', () => {
    const out = recorder()
    const log = limitLogger(out, { burst: 1, maxKeys: 2, now: () => 0 })
    log.warn('a')
    log.error('a')
    log.warn('b')
    log.warn('c') // forgets the oldest ('warn a')
    log.warn('a')
    expect(out.lines.map(([level, m]) => `${level} ${m}`)).toEqual(['warn a', 'error a', 'warn b', 'warn c', 'warn a'])
  })

  it('replaces errors in fields by one line, and gives the stack to debug', () => {
    const out = recorder()
    const log = limitLogger(out)
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7070'), { code: 'ECONNREFUSED' })
    log.warn('heartbeat failed', { error, attempt: 2 })
    expect(out.lines[0]).toEqual(['warn', 'heartbeat failed', { error: 'Error: connect ECONNREFUSED 127.0.0.1:7070 [ECONNREFUSED]', attempt: 2 }])
    expect(out.lines[1]).toEqual(['debug', 'heartbeat failed (stack)', { error, attempt: 2 }])
  })

  it('sends nothing to console.debug unless NODE_DEBUG names governance', () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {})
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      vi.stubEnv('NODE_DEBUG', '')
      limitLogger(console).warn('x', { error: new Error('boom') })
      limitLogger(console).debug('y')
      expect(debug).not.toHaveBeenCalled()
      expect(warn).toHaveBeenCalledWith('x', { error: 'Error: boom' })
      vi.stubEnv('NODE_DEBUG', 'http,governance')
      limitLogger(console).debug('z')
      expect(debug).toHaveBeenCalledWith('z', undefined)
    } finally {
      debug.mockRestore()
      warn.mockRestore()
    }
  })
})

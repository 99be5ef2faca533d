import { describe, expect, it, vi } from 'vitest'
import {
  ClientClosedError,
  GovernanceClient,
  GovernanceError,
  InvalidArgumentError,
  type GovernanceClientOptions,
  type Logger,
} from '../../src/index.js'
import type { GovernanceClientCommonOptions } from '../../src/options.js'
import { createMemoryBackend } from '../../src/testing/index.js'

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (level: string) => (message: string) => void lines.push(`${level} ${message}`)
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

function client(overrides: Partial<GovernanceClientCommonOptions> = {}): { gov: GovernanceClient; backend: ReturnType<typeof createMemoryBackend> } {
  const backend = createMemoryBackend()
  const gov = new GovernanceClient({
    backend,
    service: { name: 'orders', port: 8080, address: '127.0.0.1' },
    logger: false,
    metrics: { processMetrics: false },
    ...overrides,
  })
  return { gov, backend }
}

describe('GovernanceClient options', () => {
  it('needs exactly one of server and backend', () => {
    // The types refuse both mistakes too (test/types/client-options.test-d.ts); plain JavaScript gets the errors.
    expect(() => new GovernanceClient({ logger: false } as never)).toThrow(InvalidArgumentError)
    expect(() => new GovernanceClient({ logger: false } as never)).toThrow(/`server`.*`backend`/)
    expect(() => new GovernanceClient({ server: 'http://127.0.0.1:1', backend: createMemoryBackend(), logger: false } as never)).toThrow(/not both/)
  })

  it('names the bad option and value', () => {
    expect(() => new GovernanceClient({ server: 'http://127.0.0.1:1', requestTimeoutMs: -5, logger: false })).toThrow(/requestTimeoutMs.*-5/)
    expect(() => new GovernanceClient({ server: 'ftp://x', logger: false })).toThrow(InvalidArgumentError)
    expect(() => new GovernanceClient({ backend: { name: 'x' } as never, logger: false })).toThrow(/Backend interface/)
    expect(() => new GovernanceClient({ backend: createMemoryBackend(), service: { name: 'bad name', port: 1 }, logger: false })).toThrow(
      /service\.name/,
    )
    expect(() => new GovernanceClient({ backend: createMemoryBackend(), logger: { warn: () => {} } as never })).toThrow(/logger\.debug/)
    expect(() => new GovernanceClient(null as never)).toThrow(InvalidArgumentError)
  })

  it('does not register without being asked, and register() without a service is a clear error', async () => {
    const { gov, backend } = client({ service: undefined })
    await expect(gov.register()).rejects.toThrow(/service/)
    expect(backend.count('register')).toBe(0)
    await gov.close()
  })
})

describe('GovernanceClient lifecycle', () => {
  it('registers through the backend and reports it as an event', async () => {
    const { gov, backend } = client()
    const registered = vi.fn()
    gov.on('registry:registered', registered)
    await gov.register()
    expect(backend.instances('orders').map((i) => i.id)).toEqual([gov.instanceId])
    expect(registered).toHaveBeenCalledWith(expect.objectContaining({ service: 'orders', instanceId: gov.instanceId, epoch: gov.epoch }))
    expect(gov.registrationState).toBe('registered')
    expect(gov.status).toBe('UP')
    expect(gov.holdsEpoch(gov.epoch)).toBe(true)
    await gov.close()
    expect(gov.holdsEpoch(1)).toBe(false)
  })

  it('close() deregisters, closes the backend once, and is idempotent under concurrency', async () => {
    const { gov, backend } = client()
    const closeBackend = vi.spyOn(backend, 'close')
    await gov.register()
    await Promise.all([gov.close(), gov.close(), gov.close()])
    await gov.close()
    expect(backend.instances('orders')).toEqual([])
    expect(backend.count('deregister')).toBe(1)
    expect(closeBackend).toHaveBeenCalledTimes(1)
  })

  it('rejects new work after close with ClientClosedError', async () => {
    const { gov } = client()
    await gov.close()
    await expect(gov.discover('payments')).rejects.toBeInstanceOf(ClientClosedError)
    await expect(gov.pick('payments')).rejects.toBeInstanceOf(ClientClosedError)
    await expect(gov.register()).rejects.toBeInstanceOf(ClientClosedError)
    await expect(gov.fetch('http://payments/x')).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('works with `await using`', async () => {
    const backend = createMemoryBackend()
    {
      await using gov = new GovernanceClient({ backend, service: { name: 'orders', port: 1, address: '127.0.0.1' }, logger: false })
      await gov.register()
      expect(backend.instances('orders')).toHaveLength(1)
    }
    expect(backend.instances('orders')).toHaveLength(0)
  })

  it('flushes metrics to the backend sink on close', async () => {
    const { gov, backend } = client()
    gov.metrics.counter('orders_total').inc(3, { channel: 'web' })
    await gov.close()
    const points = backend.metricBatches.flatMap((b) => b.points).filter((p) => p.name === 'orders_total')
    expect(points).toEqual([expect.objectContaining({ kind: 'counter', value: 3, labels: { channel: 'web' } })])
  })
})

describe('GovernanceClient events', () => {
  it("logs an 'error' nobody listens to instead of dropping it", async () => {
    const logger = recordingLogger()
    const { gov, backend } = client({ logger })
    vi.spyOn(backend, 'close').mockRejectedValueOnce(new Error('socket stuck'))
    await gov.close()
    expect(logger.lines.some((l) => l.startsWith('error') && l.includes('closing backend failed'))).toBe(true)
  })

  it("delivers 'error' to a listener when there is one", async () => {
    const { gov, backend } = client()
    const errors: GovernanceError[] = []
    gov.on('error', (e) => errors.push(e))
    vi.spyOn(backend, 'close').mockRejectedValueOnce(new Error('socket stuck'))
    await gov.close()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(GovernanceError)
  })

  it('a listener that throws does not break the client', async () => {
    const logger = recordingLogger()
    const { gov } = client({ logger })
    gov.on('registry:registered', () => {
      throw new Error('listener bug')
    })
    await gov.register()
    expect(gov.registrationState).toBe('registered')
    // The facade's one guard logged it; no subsystem wraps emit again.
    expect(logger.lines.filter((l) => l === 'error a registry:registered listener threw')).toHaveLength(1)
    await gov.close()
  })
})

import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { ProtocolError, TimeoutError } from 'governance-client'
import { createTestRegistry, type TestRegistry } from 'governance-client/testing'

let registry: TestRegistry
beforeEach(() => {
  vi.useFakeTimers() // leases, heartbeats, retries and the kit's fault timers all run on them
  registry = createTestRegistry()
})
afterEach(async () => {
  await registry.close()
  vi.useRealTimers()
})

it('keeps answering from memory while the registry is unreachable', async () => {
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 9000 })
  const gov = registry.client()
  const stale = vi.fn()
  gov.on('discovery:stale', stale)
  await gov.discover('payments')

  registry.unreachableFor(10_000)
  await vi.advanceTimersByTimeAsync(1_000)
  const during = await gov.discover('payments')
  expect(during.map((i) => i.id)).toEqual(['pay-1'])
  expect(during.source).toBe('memory')
  expect(stale).toHaveBeenCalledTimes(1)

  await vi.advanceTimersByTimeAsync(15_000)
  expect((await gov.discover('payments')).source).toBe('live')
})

it('registers again when the registry restarts and forgets the instance', async () => {
  const gov = registry.client({ service: { name: 'orders', port: 8080 } })
  const lost = vi.fn()
  gov.on('registry:leaseLost', lost)
  await gov.register()

  registry.loseAllLeases()
  await vi.advanceTimersByTimeAsync(1_000)
  expect(lost).toHaveBeenCalledWith(expect.objectContaining({ reason: 'server', epoch: 1 }))
  expect(gov.epoch).toBe(2)
  expect(registry.instances('orders')).toHaveLength(1)
})

it('keeps the last good config when the registry sends garbage', async () => {
  registry.setConfig('orders', { maxAmount: 50 })
  const gov = registry.client()
  const onError = vi.fn()
  gov.on('error', onError)
  const limits: unknown[] = []
  gov.config.watch('orders', (value) => limits.push(value))
  await vi.advanceTimersByTimeAsync(0)

  registry.malformedNext('watchConfig')
  registry.setConfig('orders', { maxAmount: 80 })
  expect(onError).toHaveBeenCalledWith(expect.any(ProtocolError))
  expect((await gov.config.get('orders'))?.value).toEqual({ maxAmount: 50 })

  await vi.advanceTimersByTimeAsync(200) // the feed is read again (first retry within 200 ms)
  expect(limits).toEqual([{ maxAmount: 50 }, { maxAmount: 80 }])
})

it('gives up on a slow registry at the request deadline', async () => {
  const gov = registry.client({ requestTimeoutMs: 1_000 })
  registry.slow('getConfig', 30_000)
  const reading = gov.config.get('orders')
  const failed = expect(reading).rejects.toBeInstanceOf(TimeoutError)
  await vi.advanceTimersByTimeAsync(1_000)
  await failed
})

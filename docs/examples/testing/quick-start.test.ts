import { afterEach, beforeEach, expect, it } from 'vitest'
import type { GovernanceClient } from 'governance-client'
import { createTestRegistry, type TestRegistry } from 'governance-client/testing'

// The code under test: it reads a limit from live config, picks a payments instance and counts.
async function planCharge(gov: GovernanceClient, amount: number) {
  const config = await gov.config.get('orders')
  const maxAmount = (config?.value as { maxAmount?: number } | undefined)?.maxAmount ?? 100
  if (amount > maxAmount) return { ok: false, reason: 'over the limit' } as const
  const payments = await gov.pick('payments')
  gov.metrics.counter('charges_planned_total').inc(1, { zone: payments.zone ?? 'none' })
  return { ok: true, target: `${payments.address}:${payments.port}` } as const
}

let registry: TestRegistry
beforeEach(() => {
  registry = createTestRegistry()
})
afterEach(() => registry.close()) // also closes the clients it made

it('plans a charge against a payments instance, within the configured limit', async () => {
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 9000, zone: 'eu-1a' })
  registry.setConfig('orders', { maxAmount: 50 })
  const gov = registry.client({ service: { name: 'orders', port: 8080 } })
  await gov.register()

  expect(await planCharge(gov, 20)).toEqual({ ok: true, target: '10.0.0.7:9000' })
  expect(await planCharge(gov, 80)).toEqual({ ok: false, reason: 'over the limit' })

  // What the client did, as the registry saw it.
  expect(registry.instances('orders')).toHaveLength(1)
  expect(registry.configReads.map((read) => read.key)).toEqual(['orders', 'orders'])
  await gov.metrics.flush()
  expect(registry.metricPoints('charges_planned_total')).toEqual([
    { name: 'charges_planned_total', kind: 'counter', labels: { zone: 'eu-1a' }, value: 1 },
  ])
})

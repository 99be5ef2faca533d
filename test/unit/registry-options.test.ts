import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { advertisedAddress, firstExternalIPv4, generateInstanceId, resolveRegistryOptions } from '../../src/registry/index.js'
import { HEARTBEAT_JITTER, heartbeatDelay, leaseTiming, retryDelay } from '../../src/registry/timing.js'
import { INSTANCE_ID_PATTERN } from '../../src/registry/validate.js'

const service = { name: 'orders', port: 8080, address: '10.0.0.5' }

function rejects(options: Record<string, unknown>, ...fragments: string[]): void {
  let caught: unknown
  try {
    resolveRegistryOptions(options as never)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError)
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment)
}

describe('resolveRegistryOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveRegistryOptions({ service })
    expect(o).toMatchObject({
      heartbeatIntervalMs: 5_000,
      ttlMs: 15_000,
      registerTimeoutMs: 30_000,
      drainMs: 0,
      leaseSafetyMarginMs: 1_500,
      healthCheckIntervalMs: 5_000,
      handleSignals: false,
    })
    expect(o.service).toMatchObject({ name: 'orders', port: 8080, address: '10.0.0.5', id: undefined, status: 'UP', weight: 1, tags: [], metadata: {} })
  })

  it('derives the default TTL from a long heartbeat interval', () => {
    expect(resolveRegistryOptions({ heartbeatIntervalMs: 10_000 }).ttlMs).toBe(30_000)
  })

  it('accepts no service at all (a client that only discovers)', () => {
    expect(resolveRegistryOptions({}).service).toBeUndefined()
  })

  it.each<[Record<string, unknown>, ...string[]]>([
    [{ service: { ...service, name: '-bad' } }, 'service.name', '"-bad"'],
    [{ service: { ...service, name: 'a'.repeat(129) } }, 'service.name'],
    [{ service: { ...service, name: 'has space' } }, 'service.name'],
    [{ service: { ...service, port: 0 } }, 'service.port', '0'],
    [{ service: { ...service, port: 70_000 } }, 'service.port', '70000'],
    [{ service: { ...service, port: 80.5 } }, 'service.port'],
    [{ service: { ...service, port: '80' } }, 'service.port', '"80"'],
    [{ service: { ...service, address: '' } }, 'service.address'],
    [{ service: { ...service, address: 'a b' } }, 'service.address'],
    [{ service: { ...service, address: 'x\u0000' } }, 'service.address'],
    [{ service: { ...service, address: 'h'.repeat(254) } }, 'service.address'],
    [{ service: { ...service, id: 'a/b' } }, 'service.id', '"a/b"'],
    [{ service: { ...service, metadata: { v: 1 } } }, 'service.metadata.v', '1'],
    [{ service: { ...service, metadata: { ['k'.repeat(129)]: 'x' } } }, 'service.metadata key'],
    [{ service: { ...service, metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) } }, 'service.metadata', '64'],
    [{ service: { ...service, metadata: ['x'] } }, 'service.metadata'],
    [{ service: { ...service, tags: 'http' } }, 'service.tags', '"http"'],
    [{ service: { ...service, tags: ['ok', ''] } }, 'service.tags[1]'],
    [{ service: { ...service, tags: Array.from({ length: 33 }, () => 't') } }, 'service.tags', '32'],
    [{ service: { ...service, zone: '' } }, 'service.zone'],
    [{ service: { ...service, weight: 1_001 } }, 'service.weight', '1001'],
    [{ service: { ...service, weight: -1 } }, 'service.weight'],
    [{ service: { ...service, status: 'up' } }, 'service.status', '"up"'],
    [{ service: { ...service, adress: 'x' } }, 'service.adress', 'is not an option'],
    [{ service: 'orders' }, 'service', '"orders"'],
    [{ service: { port: 80 } }, 'service.name', 'undefined'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs', '0'],
    [{ heartbeatIntervalMs: 'fast' }, 'heartbeatIntervalMs'],
    [{ heartbeatIntervalMs: 5_000, ttlMs: 5_000 }, 'ttlMs', 'must exceed heartbeatIntervalMs'],
    [{ ttlMs: 1.5 }, 'ttlMs'],
    [{ registerTimeoutMs: 0 }, 'registerTimeoutMs'],
    [{ drainMs: -1 }, 'drainMs', '-1'],
    [{ leaseSafetyMarginMs: 10_000 }, 'leaseSafetyMarginMs', '10000'],
    [{ leaseSafetyMarginMs: -5 }, 'leaseSafetyMarginMs'],
    [{ healthCheck: 'yes' }, 'healthCheck', '"yes"'],
    [{ healthCheckIntervalMs: 0 }, 'healthCheckIntervalMs'],
    [{ handleSignals: 'yes' }, 'handleSignals'],
  ])('rejects %j naming the option', (options, ...fragments) => {
    rejects(options, ...fragments)
  })

  it('accepts the protocol limits exactly', () => {
    const o = resolveRegistryOptions({
      service: {
        name: 'a'.repeat(128),
        port: 65_535,
        address: 'h'.repeat(253),
        id: `A${'b'.repeat(127)}`,
        metadata: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(1_024)])),
        tags: Array.from({ length: 32 }, () => 't'.repeat(128)),
        zone: 'z'.repeat(128),
        weight: 0,
        status: 'OUT_OF_SERVICE',
      },
    })
    expect(o.service?.weight).toBe(0)
    expect(o.service?.status).toBe('OUT_OF_SERVICE')
  })

  it('copies metadata and tags so later mutation of the input cannot change the registration', () => {
    const metadata: Record<string, string> = { v: '1' }
    const tags = ['a']
    const o = resolveRegistryOptions({ service: { ...service, metadata, tags } })
    metadata.v = '2'
    tags.push('b')
    expect(o.service?.metadata).toEqual({ v: '1' })
    expect(o.service?.tags).toEqual(['a'])
  })

  it('defaults the address to a non-internal IPv4 address or loopback', () => {
    const o = resolveRegistryOptions({ service: { name: 'orders', port: 1 } })
    expect(o.service?.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(o.service?.addressIsFallback).toBe(o.service?.address === '127.0.0.1')
  })
})

describe('firstExternalIPv4', () => {
  it('skips internal and IPv6 addresses', () => {
    const nic = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) =>
      ({ address, family, internal, netmask: '', mac: '', cidr: null }) as never
    expect(
      firstExternalIPv4({
        lo: [nic('127.0.0.1', 'IPv4', true)],
        eth0: [nic('fe80::1', 'IPv6', false), nic('192.168.1.7', 'IPv4', false)],
        eth1: [nic('10.0.0.9', 'IPv4', false)],
      }),
    ).toBe('192.168.1.7')
    expect(firstExternalIPv4({ lo: [nic('127.0.0.1', 'IPv4', true)] })).toBeUndefined()
  })
})

describe('advertisedAddress', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as never
  const dualStack = { lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)], eth0: [nic('192.168.1.7', 'IPv4', false)] }
  const ipv6Only = { lo: [nic('::1', 'IPv6', true)], eth0: [nic('fe80::1', 'IPv6', false), nic('2001:db8::7', 'IPv6', false)] }

  it('takes GOVERNANCE_ADDRESS, then POD_IP, then HOST_IP, before any interface', () => {
    const all = { GOVERNANCE_ADDRESS: 'orders-0.orders', POD_IP: '10.0.0.5', HOST_IP: '10.1.0.1' }
    expect(advertisedAddress(all, dualStack)).toEqual({ address: 'orders-0.orders', source: 'GOVERNANCE_ADDRESS' })
    expect(advertisedAddress({ ...all, GOVERNANCE_ADDRESS: '' }, dualStack)).toEqual({ address: '10.0.0.5', source: 'POD_IP' })
    expect(advertisedAddress({ HOST_IP: ' 10.1.0.1 ' }, dualStack)).toEqual({ address: '10.1.0.1', source: 'HOST_IP' })
    expect(advertisedAddress({ POD_IP: '[fd00::5]' }, dualStack)).toEqual({ address: 'fd00::5', source: 'POD_IP' })
    expect(advertisedAddress({}, dualStack)).toEqual({ address: '192.168.1.7', source: 'interface' })
  })

  it('gives an IPv6-only host its global IPv6 address, and ::1 rather than 127.0.0.1 as the last resort', () => {
    expect(advertisedAddress({}, ipv6Only)).toEqual({ address: '2001:db8::7', source: 'interface' })
    expect(advertisedAddress({}, { lo: [nic('::1', 'IPv6', true)], eth0: [nic('fe80::1', 'IPv6', false)] })).toEqual({ address: '::1', source: 'loopback' })
    expect(advertisedAddress({}, { lo: [nic('127.0.0.1', 'IPv4', true)] })).toEqual({ address: '127.0.0.1', source: 'loopback' })
  })

  it('rejects a malformed variable, naming it', () => {
    expect(() => advertisedAddress({ POD_IP: '10.0.0.5 10.0.0.6' }, dualStack)).toThrow(InvalidArgumentError)
    expect(() => advertisedAddress({ POD_IP: '10.0.0.5 10.0.0.6' }, dualStack)).toThrow(/POD_IP/)
  })
})

describe('generateInstanceId', () => {
  it('is unique and valid even for the longest service name', () => {
    const a = generateInstanceId('orders')
    expect(a).toMatch(/^orders-[0-9a-f]{12}$/)
    expect(generateInstanceId('orders')).not.toBe(a)
    const long = generateInstanceId('s'.repeat(128))
    expect(long.length).toBeLessThanOrEqual(128)
    expect(long).toMatch(INSTANCE_ID_PATTERN)
    expect(generateInstanceId(undefined)).toMatch(/^client-/)
  })
})

describe('timing', () => {
  it('jitters heartbeats within [90%, 100%] of the interval', () => {
    expect(heartbeatDelay(5_000, () => 0)).toBe(5_000)
    expect(heartbeatDelay(5_000, () => 0.999999)).toBe(Math.round(5_000 * (1 - HEARTBEAT_JITTER * 0.999999)))
    expect(heartbeatDelay(1, () => 1)).toBe(1)
  })

  it('backs off exponentially but never beyond one heartbeat interval', () => {
    const max = () => 1
    expect(retryDelay(1, 8_000, max)).toBe(1_000)
    expect(retryDelay(2, 8_000, max)).toBe(2_000)
    expect(retryDelay(4, 8_000, max)).toBe(8_000)
    expect(retryDelay(50, 8_000, max)).toBe(8_000)
    expect(retryDelay(3, 8_000, () => 0)).toBe(1)
  })

  it('uses the TTL the server applied and heartbeats faster when it is too short', () => {
    expect(leaseTiming(15_000, 5_000, 1_500)).toEqual({ renewEveryMs: 5_000, deadlineAfterMs: 13_500 })
    // The server clamped 15 s down to 3 s: the margin shrinks to a third, heartbeats halve the rest.
    expect(leaseTiming(3_000, 5_000, 1_500)).toEqual({ renewEveryMs: 1_000, deadlineAfterMs: 2_000 })
  })
})

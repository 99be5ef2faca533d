/**
 * Every factory refuses an unknown key, at any depth, with the kit's message naming the
 * key's full path and showing its value: a misspelt option must not leave its default in
 * force in silence.
 */
import { describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/client.js'
import { consulBackend } from '../../src/backends/consul/index.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { seedBackend } from '../../src/backends/seed/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { outlierEjection } from '../../src/balancer/index.js'
import { resolveConfigOptions } from '../../src/config/index.js'
import { resolveDiscoveryOptions } from '../../src/discovery/index.js'
import { resolveMetricsOptions } from '../../src/metrics/index.js'
import { resolveRoutingOptions } from '../../src/routing/options.js'
import { pushgatewaySink } from '../../src/metrics/pushgateway.js'
import { resolveRegistryOptions } from '../../src/registry/options.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import { createTransport } from '../../src/transport/index.js'
import { thrown } from '../helpers/thrown.js'

/** `path` as a literal inside a RegExp. */
const escaped = (path: string): string => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const seed = { registry: 'http://r.test', monitor: 'http://m.test', config: 'http://c.test' }
const client = { backend: createMemoryBackend(), logger: false as const }

/** [factory, its call with one misspelt key, the full path the message must name]. */
const cases: [string, () => unknown, string][] = [
  ['GovernanceClient', () => new GovernanceClient({ ...client, requestTimeoutMss: 7 } as never), 'requestTimeoutMss'],
  ['GovernanceClient service', () => new GovernanceClient({ ...client, service: { name: 's', port: 1, address: 'h', portt: 7 } } as never), 'service.portt'],
  ['GovernanceClient metrics', () => new GovernanceClient({ ...client, metrics: { flushIntervalMss: 7 } } as never), 'metrics.flushIntervalMss'],
  ['GovernanceClient discovery', () => new GovernanceClient({ ...client, discovery: { cacheSise: 7 } } as never), 'discovery.cacheSise'],
  ['GovernanceClient config', () => new GovernanceClient({ ...client, config: { pollInterval: 7 } } as never), 'config.pollInterval'],
  ['discovery recoveryBackoff', () => resolveDiscoveryOptions({ recoveryBackoff: { min: 7 } } as never), 'discovery.recoveryBackoff.min'],
  ['discovery emptyProtection', () => resolveDiscoveryOptions({ emptyProtection: { hold: 7 } } as never), 'discovery.emptyProtection.hold'],
  ['discovery defaultFilter', () => resolveDiscoveryOptions({ defaultFilter: { tag: 7 } } as never), 'discovery.defaultFilter.tag'],
  ['discovery outlier', () => resolveDiscoveryOptions({ outlier: { consecutive: 7 } } as never), 'discovery.outlier.consecutive'],
  ['routing', () => resolveRoutingOptions({ strictt: 7 } as never), 'discovery.routing.strictt'],
  ['config', () => resolveConfigOptions({ snapshots: 7 } as never), 'config.snapshots'],
  ['outlierEjection', () => outlierEjection('round-robin', { maxEjection: 7 } as never), 'outlierEjection() options.maxEjection'],
  ['metrics', () => resolveMetricsOptions({ retry: { minDelay: 7 } } as never), 'metrics.retry.minDelay'],
  ['registry', () => resolveRegistryOptions({ service: { name: 's', port: 1, address: 'h', zon: 7 } } as never), 'service.zon'],
  ['httpBackend', () => httpBackend({ server: 'http://gov.test', watchWaitMss: 7 } as never), 'http.watchWaitMss'],
  ['httpBackend breaker', () => httpBackend({ server: 'http://gov.test', breaker: { cooldown: 7 } } as never), 'http.breaker.cooldown'],
  ['etcdBackend', () => etcdBackend({ endpoints: ['http://127.0.0.1:2379'], watchBackof: 7 } as never), 'etcd.watchBackof'],
  ['etcdBackend watchBackoff', () => etcdBackend({ endpoints: ['http://127.0.0.1:2379'], watchBackoff: { minDelay: 7 } } as never), 'etcd.watchBackoff.minDelay'],
  ['etcdBackend auth', () => etcdBackend({ endpoints: ['http://127.0.0.1:2379'], auth: { username: 'u', password: 'p', user: 7 } } as never), 'etcd.auth.user'],
  ['etcdBackend tls', () => etcdBackend({ endpoints: ['http://127.0.0.1:2379'], tls: { certs: 7 } } as never), 'etcd.tls.certs'],
  ['seedBackend', () => seedBackend({ ...seed, pollInterval: 7 } as never), 'seed.pollInterval'],
  ['consulBackend', () => consulBackend({ url: 'http://c.test', datacentre: 7 } as never), 'consul.datacentre'],
  ['nacosBackend', () => nacosBackend({ url: 'http://n.test', groupName: 7 } as never), 'nacos.groupName'],
  ['eurekaBackend', () => eurekaBackend({ url: 'http://e.test', watchBackoff: { maxDelay: 7 } } as never), 'eureka.watchBackoff.maxDelay'],
  ['createTransport', () => createTransport({ servers: ['http://gov.test'], retry: { retris: 7 } } as never), 'transport.retry.retris'],
  ['createTransport top', () => createTransport({ servers: ['http://gov.test'], timeoutMs: 7 } as never), 'transport.timeoutMs'],
  ['pushgatewaySink', () => pushgatewaySink({ url: 'http://pg.test', jobb: 7 } as never), 'pushgateway.jobb'],
]

describe('unknown option keys', () => {
  it.each(cases)('%s refuses a misspelt key, naming its path and value', (_name, make, path) => {
    const error = thrown(make)
    expect(error).toBeInstanceOf(InvalidArgumentError)
    expect((error as Error).message).toMatch(new RegExp(`^${escaped(path)} is not an option \\(known: .+\\), got 7$`))
    expect((error as InvalidArgumentError).details).toEqual({ option: path })
  })

  it.each([
    [{ prot: 7 }, 'server.prot'],
    [{ metricHistory: { maxSerie: 7 } }, 'server.metricHistory.maxSerie'],
    [{ tokens: { admin: 7 } }, 'server.tokens.admin'],
  ])('createGovernanceServer(%j) refuses it, naming %s', async (options, path) => {
    const attempt = createGovernanceServer(options as never)
    await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(attempt).rejects.toThrow(new RegExp(`^${escaped(path)} is not an option \\(known: .+\\), got 7$`))
  })
})

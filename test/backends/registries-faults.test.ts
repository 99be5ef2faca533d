/**
 * Bad answers and server-side faults for the three registry backends: malformed bodies
 * become ProtocolError (never a crash or a silent empty list), Nacos tokens are refreshed
 * before tokenTtl runs out, Eureka's response cache delays reads until it is wiped.
 */
import { describe, expect, it } from 'vitest'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { ConflictError, ProtocolError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake, startEurekaFake, startNacosFake } from '../../src/testing/index.js'
import { spec } from './behaviour.js'
import { eventually, uniqueName } from './watch-recorder.js'

describe('malformed answers are ProtocolErrors', () => {
  it('consul: a health answer that is not JSON, or entries without a Service', async () => {
    const fake = await startConsulFake()
    const backend = consulBackend({ url: fake.url, logger: silentLogger })
    try {
      fake.faults.failNext(1, 200, '<html>proxy</html>', '/v1/health/service/')
      await expect(backend.resolve('svc', {})).rejects.toBeInstanceOf(ProtocolError)
      fake.faults.failNext(1, 200, '[{"Node":{}}]', '/v1/health/service/')
      await expect(backend.resolve('svc', {})).rejects.toBeInstanceOf(ProtocolError)
    } finally {
      await backend.close()
      await fake.close()
    }
  })

  it('nacos: an instance list that is not a ServiceInfo, a beat that is not JSON', async () => {
    const fake = await startNacosFake()
    const backend = nacosBackend({ url: fake.url, logger: silentLogger })
    try {
      fake.faults.failNext(1, 200, 'ok', '/nacos/v1/ns/instance/list')
      await expect(backend.resolve('svc', {})).rejects.toBeInstanceOf(ProtocolError)
      fake.faults.failNext(1, 200, '{"hosts":[{"ip":"10.0.0.1","port":"x"}]}', '/nacos/v1/ns/instance/list')
      await expect(backend.resolve('svc', {})).rejects.toBeInstanceOf(ProtocolError)
      const lease = await backend.register(spec(uniqueName('beat'), 'i-1'), {})
      fake.faults.failNext(1, 200, '<html/>', '/nacos/v1/ns/instance/beat')
      await expect(backend.renew(lease, {})).rejects.toBeInstanceOf(ProtocolError)
    } finally {
      await backend.close()
      await fake.close()
    }
  })

  it('eureka: an application without a usable port, a registry without "applications"', async () => {
    const fake = await startEurekaFake()
    const backend = eurekaBackend({ url: fake.url, logger: silentLogger })
    try {
      fake.faults.failNext(1, 200, '{"application":{"name":"SVC","instance":{"instanceId":"a","ipAddr":"10.0.0.1","port":{"$":"x"}}}}', '/eureka/apps/SVC')
      await expect(backend.resolve('svc', {})).rejects.toBeInstanceOf(ProtocolError)
      // A single instance object instead of an array (old XStream servers) is accepted.
      fake.faults.failNext(1, 200, '{"application":{"name":"SVC","instance":{"instanceId":"a","ipAddr":"10.0.0.1","port":{"$":80},"status":"UP"}}}', '/eureka/apps/SVC')
      expect((await backend.resolve('svc', {})).instances.map((i) => i.id)).toEqual(['a'])
    } finally {
      await backend.close()
      await fake.close()
    }
  })
})

describe('server-side faults', () => {
  it('nacos: the backend logs in again before tokenTtl runs out', async () => {
    const fake = await startNacosFake({ users: { u: 'p' }, tokenTtlSeconds: 1 })
    const backend = nacosBackend({ url: fake.url, username: 'u', password: 'p', logger: silentLogger })
    try {
      await backend.resolve('svc', {})
      expect(fake.requests('/nacos/v1/auth/login')).toBe(1)
      await backend.resolve('svc', {})
      expect(fake.requests('/nacos/v1/auth/login')).toBe(1)
      // 90 % of a 1 s TTL: the next call refreshes first, so it never meets a 403.
      await new Promise((r) => setTimeout(r, 950))
      await backend.resolve('svc', {})
      expect(fake.requests('/nacos/v1/auth/login')).toBe(2)
    } finally {
      await backend.close()
      await fake.close()
    }
  })

  it('nacos: a write that lands between our read and our publish is caught by the server (casMd5)', async () => {
    const fake = await startNacosFake()
    const backend = nacosBackend({ url: fake.url, logger: silentLogger })
    const other = nacosBackend({ url: fake.url, logger: silentLogger })
    try {
      const key = uniqueName('race')
      const first = await backend.putConfig(key, 1, {}, {})
      await other.putConfig(key, 2, {}, {})
      // Our pre-read still sees "1" (as if it ran before the other write): only the server can tell.
      fake.faults.failNext(1, 200, '1', '/nacos/v1/cs/configs')
      const lost = await backend.putConfig(key, 3, { ifVersion: first.version }, {}).catch((e: unknown) => e)
      expect(lost).toBeInstanceOf(ConflictError)
      expect((await other.getConfig(key, {}))?.value).toBe(2)
    } finally {
      await Promise.all([backend.close(), other.close()])
      await fake.close()
    }
  })

  it("eureka: reads come from the server's response cache until it refreshes or is wiped", async () => {
    const fake = await startEurekaFake({ responseCacheMs: 60_000 })
    const backend = eurekaBackend({ url: fake.url, logger: silentLogger })
    try {
      const service = uniqueName('cached')
      expect((await backend.resolve(service, {})).instances).toEqual([])
      await backend.register(spec(service, 'i-1'), {})
      expect((await backend.resolve(service, {})).instances).toEqual([])
      fake.wipeCache()
      await eventually(async () => (await backend.resolve(service, {})).instances.length === 1, 2_000, 'fresh after the wipe')
    } finally {
      await backend.close()
      await fake.close()
    }
  })
})

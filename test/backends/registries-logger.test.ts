/** useLogger on the registry backends: the client's logger reaches them unless their own options named one. */
import { describe, expect, it } from 'vitest'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import type { Logger } from '../../src/internal/logger.js'
import { spec } from './behaviour.js'

function recording(): Logger & { lines: string[] } {
  const lines: string[] = []
  const push = (m: string): void => void lines.push(m)
  return { lines, debug: push, info: push, warn: push, error: push }
}

describe('registry backends and useLogger', () => {
  it("consul: a refused registration is logged to the client's logger, or to the backend's own", async () => {
    const client = recording()
    const own = recording()
    const adopted = consulBackend({ url: 'http://127.0.0.1:9' })
    const pinned = consulBackend({ url: 'http://127.0.0.1:9', logger: own })
    adopted.useLogger(client)
    pinned.useLogger(client)
    const bad = spec('svc', 'i-1', { metadata: { 'app.version': '1' } })
    await expect(adopted.register(bad, {})).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(pinned.register(bad, {})).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(client.lines.filter((l) => l.includes('app.version'))).toHaveLength(1)
    expect(own.lines.filter((l) => l.includes('app.version'))).toHaveLength(1)
    await Promise.all([adopted.close(), pinned.close()])
  })

  it("consul: logger false stays silent, even once the client offers its own logger", async () => {
    const client = recording()
    const quiet = consulBackend({ url: 'http://127.0.0.1:9', logger: false })
    quiet.useLogger(client)
    await expect(quiet.register(spec('svc', 'i-1', { metadata: { 'app.version': '1' } }), {})).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(client.lines).toEqual([])
    await quiet.close()
  })

  it('nacos and eureka take the logger too', async () => {
    for (const backend of [nacosBackend({ url: 'http://127.0.0.1:9' }), eurekaBackend({ url: 'http://127.0.0.1:9' })]) {
      expect(typeof backend.useLogger).toBe('function')
      backend.useLogger(recording())
      await backend.close()
    }
  })
})

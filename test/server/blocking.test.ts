import { describe, expect, it } from 'vitest'
import { call, errorCode, instanceBody, startServer, untilHeld } from './helpers.js'

describe('blocking queries', () => {
  it('holds a list at the current index and answers it when that service changes', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const held = call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=30s`)
    await untilHeld(s.url, 1)
    const second = await call(s.url, 'PUT', '/v1/services/a/instances/2', { body: instanceBody() })
    const answer = await held
    expect(answer.status).toBe(200)
    expect(answer.json.index).toBe(second.json.index)
    expect(answer.headers['x-governance-index']).toBe(second.json.index)
    expect(answer.json.instances.map((i: { id: string }) => i.id)).toEqual(['1', '2'])
  })

  it('is not woken by changes to other services or to config', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    let settled = false
    const held = call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=30s`).finally(() => (settled = true))
    await untilHeld(s.url, 1)
    await call(s.url, 'PUT', '/v1/services/b/instances/1', { body: instanceBody() })
    await call(s.url, 'PUT', '/v1/config/a', { body: { value: 1 } })
    await call(s.url, 'PUT', '/v1/services/a/instances/1/heartbeat')
    await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() }) // unchanged upsert
    // Each change above was applied (and would have woken the query) before its answer.
    expect((await call(s.url, 'GET', '/v1/health')).json.held).toBe(1)
    expect(settled).toBe(false)
    await call(s.url, 'DELETE', '/v1/services/a/instances/1')
    const answer = await held
    expect(answer.json.instances).toEqual([])
  })

  it('answers with the same index and state when the wait elapses', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const started = performance.now()
    const answer = await call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=300ms`)
    const elapsed = performance.now() - started
    expect(answer.status).toBe(200)
    expect(answer.json.index).toBe(first.json.index)
    expect(answer.json.instances).toHaveLength(1)
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(5_000)
  })

  it('answers at once for index 0, a lower index, and an index above the resource index', async () => {
    const s = await startServer()
    await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const second = await call(s.url, 'PUT', '/v1/services/a/instances/2', { body: instanceBody() })
    const index = BigInt(second.json.index)
    for (const asked of [0n, 1n, index - 1n, index + 1000n, 10n ** 25n]) {
      const started = performance.now()
      const answer = await call(s.url, 'GET', `/v1/services/a?index=${asked}&wait=20s`)
      expect(answer.json.index).toBe(second.json.index)
      expect(performance.now() - started).toBeLessThan(5_000)
    }
    // An unknown service reports index 1; a client that sent more is answered at once.
    expect((await call(s.url, 'GET', '/v1/services/zz?index=5&wait=20s')).json.index).toBe('1')
  })

  it('holds a missing config key at its 404 index until it is written, and wakes on delete', async () => {
    const s = await startServer()
    const missing = await call(s.url, 'GET', '/v1/config/k')
    expect(missing.status).toBe(404)
    expect(errorCode(missing)).toBe('not_found')
    expect(missing.json.error.index).toBe('1')
    expect(missing.headers['x-governance-index']).toBe('1')
    const held = call(s.url, 'GET', '/v1/config/k?index=1&wait=30s')
    await untilHeld(s.url, 1)
    const put = await call(s.url, 'PUT', '/v1/config/k', { body: { value: { on: true } } })
    const answer = await held
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ key: 'k', value: { on: true }, version: put.json.version, index: put.json.version })

    const watching = call(s.url, 'GET', `/v1/config/k?index=${put.json.index}&wait=30s`)
    await untilHeld(s.url, 1)
    const del = await call(s.url, 'DELETE', '/v1/config/k')
    const gone = await watching
    expect(gone.status).toBe(404)
    expect(gone.json.error.index).toBe(del.json.index)
    expect(gone.headers['x-governance-index']).toBe(del.json.index)
  })

  it('wakes config watchers only for their key', async () => {
    const s = await startServer()
    const a = await call(s.url, 'PUT', '/v1/config/a', { body: { value: 1 } })
    const held = call(s.url, 'GET', `/v1/config/a?index=${a.json.index}&wait=30s`)
    await untilHeld(s.url, 1)
    await call(s.url, 'PUT', '/v1/config/b', { body: { value: 2 } })
    await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    expect((await call(s.url, 'GET', '/v1/health')).json.held).toBe(1)
    await call(s.url, 'PUT', '/v1/config/a', { body: { value: 3 } })
    expect((await held).json.value).toBe(3)
  })

  it('wakes every watcher of a resource at once', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const watchers = Array.from({ length: 5 }, () => call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=30s`))
    await untilHeld(s.url, 5)
    const change = await call(s.url, 'DELETE', '/v1/services/a/instances/1')
    for (const answer of await Promise.all(watchers)) expect(answer.json.index).toBe(change.json.index)
  })

  it('lets go of a held query when its client disconnects', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const controller = new AbortController()
    const held = call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=30s`, { signal: controller.signal })
    await untilHeld(s.url, 1)
    controller.abort()
    await expect(held).rejects.toThrow()
    await untilHeld(s.url, 0)
  })

  it('accepts wait in ms, s and m, clamps large waits, and rejects bad index/wait with 400', async () => {
    const s = await startServer()
    for (const wait of ['0ms', '1s', '1.5s', '1m', '100m']) {
      const r = await call(s.url, 'GET', `/v1/services/a?wait=${wait}`)
      expect(r.status, wait).toBe(200)
    }
    for (const query of ['index=-1', 'index=abc', 'index=1.5', 'index=01', 'index=', 'wait=10', 'wait=10h', 'wait=-1s', 'wait=s', 'index=1&index=2']) {
      const r = await call(s.url, 'GET', `/v1/services/a?${query}`)
      expect(r.status, query).toBe(400)
      expect(errorCode(r)).toBe('bad_request')
      const c = await call(s.url, 'GET', `/v1/config/a?${query}`)
      expect(c.status, query).toBe(400)
    }
  })

  it('answers every held query with the current state when the server closes', async () => {
    const s = await startServer()
    const first = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const list = call(s.url, 'GET', `/v1/services/a?index=${first.json.index}&wait=5m`)
    const cfg = call(s.url, 'GET', '/v1/config/missing?index=1&wait=5m')
    await untilHeld(s.url, 2)
    const started = performance.now()
    await s.close()
    const [a, b] = await Promise.all([list, cfg])
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(a.status).toBe(200)
    expect(a.json.index).toBe(first.json.index)
    expect(a.json.instances).toHaveLength(1)
    expect(b.status).toBe(404)
    expect(b.json.error.index).toBe('1')
  })
})

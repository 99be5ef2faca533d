/** Operator overrides: PUT/DELETE …/override, what watchers and heartbeats see, and the errors. */
import { describe, expect, it } from 'vitest'
import { call, startServer } from './helpers.js'

const body = { address: '10.0.0.5', port: 8080, ttlMs: 1_000, status: 'UP', zone: 'eu-1a' }
const path = '/v1/services/orders/instances/orders-1'

describe('instance overrides', () => {
  it('wins over the instance, wakes watchers, rides on heartbeats, survives re-registration and expiry until cleared', async () => {
    const server = await startServer()
    await call(server.url, 'PUT', path, { body })
    const listed = await call(server.url, 'GET', '/v1/services/orders')
    const held = call(server.url, 'GET', `/v1/services/orders?index=${listed.json.index}&wait=10s`)
    const heldList = call(server.url, 'GET', `/v1/services?index=${(await call(server.url, 'GET', '/v1/services')).json.index}&wait=10s`)
    const set = await call(server.url, 'PUT', `${path}/override`, { body: { status: 'DOWN', weight: 0 } })
    expect(set.status).toBe(200)
    expect(set.json.instance).toMatchObject({ status: 'DOWN', weight: 0, override: { status: 'DOWN', weight: 0 } })
    expect((await held).json.instances[0].status).toBe('DOWN')
    expect((await heldList).json.services[0]).toMatchObject({ name: 'orders', byStatus: { DOWN: 1 }, byZone: { 'eu-1a': 1 } })

    expect((await call(server.url, 'PUT', `${path}/heartbeat`)).json.override).toMatchObject({ status: 'DOWN', weight: 0 })
    await call(server.url, 'PUT', path, { body: { ...body, weight: 5 } })
    expect((await call(server.url, 'GET', '/v1/services/orders')).json.instances[0]).toMatchObject({ status: 'DOWN', weight: 0 })

    // Expired, then registered again: the operator's word still holds.
    await expect.poll(async () => (await call(server.url, 'GET', '/v1/services/orders')).json.instances.length, { timeout: 5_000 }).toBe(0)
    await call(server.url, 'PUT', path, { body })
    expect((await call(server.url, 'GET', '/v1/services/orders')).json.instances[0].status).toBe('DOWN')

    const cleared = await call(server.url, 'DELETE', `${path}/override`)
    expect(cleared.json.cleared).toBe(true)
    const after = (await call(server.url, 'GET', '/v1/services/orders')).json.instances[0]
    expect(after).toMatchObject({ status: 'UP', weight: 1 })
    expect(after.override).toBeUndefined()
    expect((await call(server.url, 'PUT', `${path}/heartbeat`)).json.override).toBeUndefined()
    expect((await call(server.url, 'DELETE', `${path}/override`)).json.cleared).toBe(false)
  })

  it('answers 404 for an unknown instance, 400 for bad bodies, 403 for a read token', async () => {
    const server = await startServer({ token: 'w', readToken: 'r' })
    await call(server.url, 'PUT', path, { body, token: 'w' })
    expect((await call(server.url, 'PUT', '/v1/services/orders/instances/nope/override', { body: { status: 'DOWN' }, token: 'w' })).status).toBe(404)
    for (const bad of [{}, { status: 'SLEEPING' }, { weight: 1_001 }, { weight: 1.5 }, []]) {
      const res = await call(server.url, 'PUT', `${path}/override`, { body: bad, token: 'w' })
      expect(res.status, JSON.stringify(bad)).toBe(400)
      expect(res.json.error.code).toBe('bad_request')
    }
    expect((await call(server.url, 'PUT', `${path}/override`, { body: { status: 'DOWN' }, token: 'r' })).status).toBe(403)
    expect((await call(server.url, 'DELETE', `${path}/override`, { token: 'r' })).status).toBe(403)
    expect((await call(server.url, 'PUT', `${path}/override`, { body: { status: 'DOWN' } })).status).toBe(401)
  })
})

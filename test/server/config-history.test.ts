import { describe, expect, it } from 'vitest'
import { call, errorCode, startServer, tempDir } from './helpers.js'

describe('GET /v1/config/{key}/history', () => {
  it('answers the versions newest first with time, writer and deletions; 404 for a key with no history', async () => {
    const s = await startServer({ configHistory: 3 })
    const before = Date.now()
    const versions: string[] = []
    for (const value of [1, { two: 2 }, null, 'four']) versions.push((await call(s.url, 'PUT', '/v1/config/k', { body: { value } })).json.version)
    const del = await call(s.url, 'DELETE', '/v1/config/k')
    const h = await call(s.url, 'GET', '/v1/config/k/history')
    expect(h.status).toBe(200)
    expect(h.json.key).toBe('k')
    expect(h.json.versions.map((v: any) => [v.version, v.value, v.deleted, v.writer])).toEqual([
      [del.json.index, null, true, '127.0.0.1'],
      [versions[3], 'four', false, '127.0.0.1'],
      [versions[2], null, false, '127.0.0.1'],
    ])
    expect(h.json.versions.every((v: any) => v.time >= before && v.time <= Date.now())).toBe(true)
    expect((await call(s.url, 'GET', '/v1/config/k/history?limit=1')).json.versions).toHaveLength(1)
    expect((await call(s.url, 'GET', '/v1/config/k/history?limit=0')).status).toBe(400)
    const none = await call(s.url, 'GET', '/v1/config/never/history')
    expect([none.status, errorCode(none)]).toEqual([404, 'not_found'])
  })

  it('marks writers with a write token, and a rollback is a CAS PUT of an old value', async () => {
    const s = await startServer({ token: 'w', readToken: 'r' })
    const first = await call(s.url, 'PUT', '/v1/config/k', { token: 'w', body: { value: { v: 1 } } })
    const second = await call(s.url, 'PUT', '/v1/config/k', { token: 'w', body: { value: { v: 2 } } })
    const h = await call(s.url, 'GET', '/v1/config/k/history', { token: 'r' })
    expect(h.json.versions[0].writer).toBe('127.0.0.1 (write token)')
    const old = h.json.versions.find((v: any) => v.version === first.json.version).value
    const back = await call(s.url, 'PUT', '/v1/config/k', { token: 'w', body: { value: old, ifVersion: second.json.version } })
    expect(back.json.value).toEqual({ v: 1 })
    expect((await call(s.url, 'GET', '/v1/config/k/history', { token: 'w' })).json.versions).toHaveLength(3)
    expect((await call(s.url, 'GET', '/v1/config/k/history')).status).toBe(401)
  })

  it('is persisted with the config and survives a restart', async () => {
    const dataDir = await tempDir()
    const first = await startServer({ dataDir })
    await call(first.url, 'PUT', '/v1/config/k', { body: { value: 1 } })
    await call(first.url, 'PUT', '/v1/config/k', { body: { value: 2 } })
    const before = (await call(first.url, 'GET', '/v1/config/k/history')).json
    await first.close()
    const second = await startServer({ dataDir })
    expect((await call(second.url, 'GET', '/v1/config/k/history')).json).toEqual(before)
  })
})

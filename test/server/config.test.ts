import { describe, expect, it } from 'vitest'
import { call, errorCode, startServer } from './helpers.js'

describe('config endpoints', () => {
  it('writes and reads any JSON value, null included, with version == index', async () => {
    const s = await startServer()
    for (const value of [null, 0, 'text', [1, { a: [true] }], { nested: { deep: 'x' } }, false]) {
      const put = await call(s.url, 'PUT', '/v1/config/k', { body: { value } })
      expect(put.status).toBe(200)
      expect(put.json).toEqual({ key: 'k', value, version: put.json.version, index: put.json.version })
      expect(put.headers['x-governance-index']).toBe(put.json.version)
      const get = await call(s.url, 'GET', '/v1/config/k')
      expect(get.json).toEqual(put.json)
      expect(get.headers['x-governance-index']).toBe(put.json.version)
    }
  })

  it('raises the version with every write', async () => {
    const s = await startServer()
    const versions: bigint[] = []
    for (let i = 0; i < 5; i++) versions.push(BigInt((await call(s.url, 'PUT', '/v1/config/k', { body: { value: i } })).json.version))
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!)
  })

  it('compare-and-set: matching ifVersion writes, a stale one gets 409 with currentVersion', async () => {
    const s = await startServer()
    const v1 = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 1 } })
    const v2 = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 2, ifVersion: v1.json.version } })
    expect(v2.status).toBe(200)
    const stale = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 3, ifVersion: v1.json.version } })
    expect(stale.status).toBe(409)
    expect(errorCode(stale)).toBe('conflict')
    expect(stale.json.error.currentVersion).toBe(v2.json.version)
    expect((await call(s.url, 'GET', '/v1/config/k')).json.value).toBe(2)
  })

  it('ifVersion "0" creates only', async () => {
    const s = await startServer()
    const created = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 1, ifVersion: '0' } })
    expect(created.status).toBe(200)
    const again = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 2, ifVersion: '0' } })
    expect(again.status).toBe(409)
    expect(again.json.error.currentVersion).toBe(created.json.version)
    const other = await call(s.url, 'PUT', '/v1/config/missing', { body: { value: 1, ifVersion: '5' } })
    expect(other.status).toBe(409)
    expect(other.json.error.currentVersion).toBe('0')
  })

  it('lets exactly one of many concurrent CAS writers win', async () => {
    const s = await startServer()
    const base = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 'base' } })
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(s.url, 'PUT', '/v1/config/k', { body: { value: i, ifVersion: base.json.version } })),
    )
    const winners = answers.filter((a) => a.status === 200)
    expect(winners).toHaveLength(1)
    expect(answers.filter((a) => a.status === 409)).toHaveLength(19)
    for (const lost of answers.filter((a) => a.status === 409)) expect(lost.json.error.currentVersion).toBe(winners[0]!.json.version)
  })

  it('deletes with and without ifVersion; missing keys get 404 and report their deletion index', async () => {
    const s = await startServer()
    const put = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 1 } })
    const wrong = await call(s.url, 'DELETE', `/v1/config/k?ifVersion=${BigInt(put.json.version) + 1n}`)
    expect(wrong.status).toBe(409)
    expect(wrong.json.error.currentVersion).toBe(put.json.version)
    expect((await call(s.url, 'DELETE', '/v1/config/k?ifVersion=0')).status).toBe(409)
    const del = await call(s.url, 'DELETE', `/v1/config/k?ifVersion=${put.json.version}`)
    expect(del.status).toBe(200)
    expect(del.json.deleted).toBe(true)
    expect(BigInt(del.json.index)).toBeGreaterThan(BigInt(put.json.version))
    const get = await call(s.url, 'GET', '/v1/config/k')
    expect(get.status).toBe(404)
    expect(get.json.error.index).toBe(del.json.index)
    const again = await call(s.url, 'DELETE', '/v1/config/k')
    expect(again.status).toBe(404)
    expect(errorCode(again)).toBe('not_found')
    // A re-created key gets a version above its deletion index.
    const back = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 2, ifVersion: '0' } })
    expect(BigInt(back.json.version)).toBeGreaterThan(BigInt(del.json.index))
  })

  it('lists keys sorted with their versions', async () => {
    const s = await startServer()
    const b = await call(s.url, 'PUT', '/v1/config/b', { body: { value: 1 } })
    const a = await call(s.url, 'PUT', '/v1/config/a', { body: { value: 1 } })
    const gone = await call(s.url, 'PUT', '/v1/config/c', { body: { value: 1 } })
    const del = await call(s.url, 'DELETE', `/v1/config/c?ifVersion=${gone.json.version}`)
    const list = await call(s.url, 'GET', '/v1/config')
    expect(list.json.keys).toEqual([
      { key: 'a', version: a.json.version },
      { key: 'b', version: b.json.version },
    ])
    expect(list.json.index).toBe(del.json.index)
    expect(list.headers['x-governance-index']).toBe(del.json.index)
  })

  it('rejects bad bodies, keys and ifVersions with 400', async () => {
    const s = await startServer()
    const cases: [string, unknown][] = [
      ['/v1/config/k', {}],
      ['/v1/config/k', { other: 1 }],
      ['/v1/config/k', [1]],
      ['/v1/config/k', 'null'],
      ['/v1/config/k', { value: 1, ifVersion: 5 }],
      ['/v1/config/k', { value: 1, ifVersion: 'x' }],
      ['/v1/config/k', { value: 1, ifVersion: '-1' }],
      ['/v1/config/k', { value: 1, ifVersion: null }],
      ['/v1/config/.hidden', { value: 1 }],
      [`/v1/config/${'k'.repeat(257)}`, { value: 1 }],
    ]
    for (const [path, body] of cases) {
      const r = await call(s.url, 'PUT', path, { body, headers: { 'content-type': 'application/json' } })
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400)
      expect(errorCode(r)).toBe('bad_request')
    }
    expect((await call(s.url, 'DELETE', '/v1/config/k?ifVersion=abc')).status).toBe(400)
    expect((await call(s.url, 'GET', '/v1/config')).json.keys).toEqual([])
  })

  it('accepts a key of 256 characters with colons and dots', async () => {
    const s = await startServer()
    const key = `a.b:c-d_${'k'.repeat(248)}`
    expect(key).toHaveLength(256)
    expect((await call(s.url, 'PUT', `/v1/config/${key}`, { body: { value: 1 } })).status).toBe(200)
  })

  it('refuses a stored value over 512 KiB with 413, and a value nested too deeply with 400', async () => {
    const s = await startServer()
    const big = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 'x'.repeat(512 * 1024) } })
    expect(big.status).toBe(413)
    expect(errorCode(big)).toBe('payload_too_large')
    const fits = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 'x'.repeat(512 * 1024 - 2) } })
    expect(fits.status).toBe(200)
    const deep = `{"value":${'['.repeat(200_000)}${']'.repeat(200_000)}}`
    const nested = await call(s.url, 'PUT', '/v1/config/deep', { body: deep, headers: { 'content-type': 'application/json' } })
    expect(nested.status).toBe(400)
    expect((await call(s.url, 'GET', '/v1/config/deep')).status).toBe(404)
  })
})

describe('ConfigStore group commit', () => {
  it('commits writes that arrive during a flush together, in order, writing only the changed keys, and shows nothing before it is durable', async () => {
    const { ConfigStore } = await import('../../src/server/config-store.js')
    const { IndexCounter } = await import('../../src/server/index-counter.js')
    const flushes: number[] = []
    const store = new ConfigStore({
      counter: new IndexCounter(0n, 0),
      onChange: () => {},
      persist: (changed) => {
        flushes.push(changed.length)
        return new Promise<void>((resolve) => setImmediate(resolve))
      },
    })
    const first = store.put('a', '1')
    expect(store.get('a')).toBeUndefined() // not durable yet, so not visible
    const rest = Array.from({ length: 10 }, (_, i) => store.put(`k${i}`, String(i), i === 0 ? 0n : undefined))
    const lost = store.put('k0', '"late"', 0n) // k0 is created earlier in the same batch
    await first
    const versions = await Promise.all(rest)
    await expect(lost).rejects.toMatchObject({ status: 409 })
    expect(flushes).toEqual([1, 10]) // the second commit writes k0-k9, not 'a' again
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1]!)).toBe(true)
    expect(store.get('k0')?.json).toBe('0')
  })
})

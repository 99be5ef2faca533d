/**
 * etcd backend details that the shared behaviour suite does not reach, with a scripted
 * transport (no etcd needed): encodings, int64 exactness, malformed answers, watch frames.
 */
import { describe, expect, it, vi } from 'vitest'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { decodeBytes, int64Field, nextRevision, prefixRangeEnd } from '../../src/backends/etcd/codec.js'
import { createKeyLayout } from '../../src/backends/etcd/keys.js'
import { InvalidArgumentError, ProtocolError, type GovernanceError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import type { JsonStream, RequestOptions, StreamOptions, Transport } from '../../src/transport/types.js'
import type { ConfigEntry, ServiceSnapshot } from '../../src/types.js'
import { etcdAvailable } from '../helpers/etcd-cluster.js'
import { spec } from './behaviour.js'
import { WatchRecorder } from './watch-recorder.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString()

type Answer = unknown | ((options: RequestOptions) => unknown)

/** A transport that answers each path from a script and records the requests. */
function scripted(answers: Record<string, Answer>, streams: (() => AsyncIterable<unknown>)[] = []): Transport & { calls: RequestOptions[]; opened: StreamOptions[] } {
  const calls: RequestOptions[] = []
  const opened: StreamOptions[] = []
  return {
    calls,
    opened,
    async request<T>(options: RequestOptions) {
      calls.push(options)
      const a = answers[options.path]
      const body = typeof a === 'function' ? (a as (o: RequestOptions) => unknown)(options) : a
      return { status: 200, headers: {}, body: body as T, server: 'http://fake:2379' }
    },
    async stream(options: StreamOptions): Promise<JsonStream> {
      opened.push(options)
      const next = streams.shift()
      if (next === undefined) return new Promise<JsonStream>(() => undefined) // no more scripts: hang until aborted
      return { status: 200, server: 'http://fake:2379', frames: next(), close: () => undefined }
    },
    async close() {},
  }
}

const header = (revision: string) => ({ header: { revision } })
const backendOn = (transport: Transport) =>
  etcdBackend({ endpoints: ['http://fake:2379'], transport, logger: silentLogger, watchBackoff: { minDelayMs: 1, maxDelayMs: 5 } })

describe('etcd codec', () => {
  it('computes prefix range ends byte-wise', () => {
    expect(unb64(prefixRangeEnd('/app/'))).toBe('/app0')
    // UTF-8 text never holds a 0xff byte, so the last byte is always incrementable.
    expect(Buffer.from(prefixRangeEnd('a\u00ff'), 'base64')).toEqual(Buffer.from([0x61, 0xc3, 0xc0]))
  })

  it('keeps int64 values exact past 2^53', () => {
    expect(int64Field('9223372036854775807', 'x')).toBe('9223372036854775807')
    expect(nextRevision('9007199254740993')).toBe('9007199254740994')
    expect(int64Field(undefined, 'x')).toBe('0')
    expect(() => int64Field(1.5, 'rev')).toThrow(ProtocolError)
    expect(() => int64Field('-3', 'rev')).toThrow(/rev/)
  })

  it('rejects malformed base64 instead of decoding garbage', () => {
    expect(decodeBytes(undefined, 'v').length).toBe(0)
    expect(() => decodeBytes('no*base64', 'kv.key')).toThrow(/kv\.key/)
  })

  it('validates the prefix and names', () => {
    expect(createKeyLayout('/gov/').instanceKey('a', 'b')).toBe('/gov/services/a/b')
    expect(() => createKeyLayout('gov')).toThrow(InvalidArgumentError)
    expect(() => etcdBackend({ endpoints: [] })).toThrow(/endpoints/)
    expect(() => etcdBackend({ endpoints: ['ftp://x'] })).toThrow(/endpoints\[0\]/)
    expect(() => etcdBackend({ endpoints: ['http://x:2379'], requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/)
    expect(() => etcdBackend({ endpoints: ['http://x:2379'], auth: { username: '', password: 'p' } })).toThrow(/auth\.username/)
  })

  it('validates the watch tuning options and refuses unknown keys, naming them', () => {
    const endpoints = ['http://x:2379']
    expect(() => etcdBackend({ endpoints, maxWatches: 0 })).toThrow(/^etcd\.maxWatches must be a positive integer, got 0/)
    expect(() => etcdBackend({ endpoints, watchesPerStream: 1.5 })).toThrow(/watchesPerStream/)
    expect(() => etcdBackend({ endpoints, watchIdleMs: -1 })).toThrow(/watchIdleMs/)
    expect(() => etcdBackend({ endpoints, watchProbeTimeoutMs: 'fast' as never })).toThrow(/watchProbeTimeoutMs/)
    expect(() => etcdBackend({ endpoints, breaker: { cooldownMs: 0 } })).toThrow(/breaker\.cooldownMs/)
    expect(() => etcdBackend({ endpoints, breaker: { cooldown: 1 } as never })).toThrow(/breaker\.cooldown is not an option/)
    expect(() => etcdBackend({ endpoints, watchIdleMS: 5 } as never)).toThrow(/watchIdleMS is not an option/)
  })
})

describe('etcd backend over a scripted gateway', () => {
  it('sends exact field names and keeps a lease id above 2^53 as a string', async () => {
    const id = '7587869093410939912'
    const t = scripted({
      '/v3/lease/grant': { ...header('5'), ID: id, TTL: '15' },
      '/v3/kv/put': header('6'),
      '/v3/lease/keepalive': { result: { ...header('6'), ID: id, TTL: '15' } },
    })
    const b = backendOn(t)
    const lease = await b.register(spec('orders', 'i-1'), {})
    expect(lease).toEqual({ id, service: 'orders', instanceId: 'i-1', ttlMs: 15_000 })
    expect(t.calls[0]?.body).toEqual({ TTL: '15' })
    const put = t.calls[1]?.body as Record<string, string>
    expect(put.lease).toBe(id)
    expect(unb64(put.key as string)).toBe('/governance/services/orders/i-1')
    expect(await b.renew(lease, {})).toEqual({ ttlMs: 15_000 })
    expect(t.calls[2]?.body).toEqual({ ID: id })
    await b.close()
  })

  it('a keepalive answer without TTL means the lease is lost', async () => {
    const b = backendOn(scripted({ '/v3/lease/keepalive': { result: header('9') } }))
    const error = await b.renew({ id: '42', service: 's', instanceId: 'i', ttlMs: 1000 }, {}).catch((e: GovernanceError) => e)
    expect((error as GovernanceError).code).toBe('GOV_LEASE_LOST')
    await b.close()
  })

  it.each([
    ['a range without header', '/v3/kv/range', { kvs: [] }, /range\.header/],
    ['kvs that is not an array', '/v3/kv/range', { ...header('3'), kvs: {} }, /range kvs/],
    ['a key that is not base64', '/v3/kv/range', { ...header('3'), kvs: [{ key: '%%%', mod_revision: '2' }] }, /kvs\[0\]\.key/],
    ['a revision that is not an int64', '/v3/kv/range', { ...header('x') }, /header\.revision/],
    ['an answer that is not an object', '/v3/kv/range', ['nope'], /not a JSON object/],
  ])('%s is a ProtocolError naming the field', async (_what, path, body, field) => {
    const b = backendOn(scripted({ [path]: body }))
    const error = await b.resolve('orders', {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toMatch(field)
    await b.close()
  })

  it('a config key holding something else than {"value": …} is a ProtocolError naming the key', async () => {
    const kv = { key: b64('/governance/config/app'), value: b64('plain text'), mod_revision: '4', create_revision: '4' }
    const b = backendOn(scripted({ '/v3/kv/range': { ...header('4'), kvs: [kv] } }))
    await expect(b.getConfig('app', {})).rejects.toThrow(/config "app"/)
    await b.close()
  })

  it('a grant without ID is a ProtocolError', async () => {
    const b = backendOn(scripted({ '/v3/lease/grant': { ...header('1'), TTL: '5' } }))
    await expect(b.register(spec('orders', 'i-1'), {})).rejects.toBeInstanceOf(ProtocolError)
    await b.close()
  })

  it('skips an unreadable instance key and logs it once', async () => {
    const good = { key: b64('/governance/services/s/a'), value: b64(JSON.stringify({ address: 'h', port: 1 })), mod_revision: '2' }
    const bad = { key: b64('/governance/services/s/b'), value: b64('{"port": "x"}'), mod_revision: '3' }
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) }
    const b = etcdBackend({ endpoints: ['http://fake:2379'], transport: scripted({ '/v3/kv/range': { ...header('3'), kvs: [good, bad] } }), logger })
    expect((await b.resolve('s', {})).instances.map((i) => i.id)).toEqual(['a'])
    await b.resolve('s', {})
    expect(warnings).toHaveLength(1)
    await b.close()
  })

  it('logger: refuses a non-logger naming the option; false silences; a pino-style logger gets (fields, message)', async () => {
    const endpoints = ['http://fake:2379']
    expect(() => etcdBackend({ endpoints, logger: 'quiet' as never })).toThrow(InvalidArgumentError)
    expect(() => etcdBackend({ endpoints, logger: 'quiet' as never })).toThrow(/^etcd\.logger must be an object with debug, info, warn and error methods, or false/)
    expect(() => etcdBackend({ endpoints, logger: { warn: () => undefined } as never })).toThrow(/logger\.debug must be a function/)
    const bad = { key: b64('/governance/services/s/b'), value: b64('{"port": "x"}'), mod_revision: '3' }
    const answers = { '/v3/kv/range': { ...header('3'), kvs: [bad] } }
    const stderr = vi.spyOn(process.stderr, 'write')
    try {
      // Before the check, false reached the backend as its logger: "logger.warn is not a function" here.
      const quiet = etcdBackend({ endpoints, transport: scripted(answers), logger: false })
      expect((await quiet.resolve('s', {})).instances).toEqual([])
      expect(stderr.mock.calls.filter(([text]) => String(text).includes('governance-client'))).toEqual([])
      await quiet.close()
    } finally {
      stderr.mockRestore()
    }
    const calls: unknown[][] = []
    const record = (...args: unknown[]) => void calls.push(args)
    const pinoLike = { debug: record, info: record, warn: record, error: record, child: () => pinoLike, bindings: () => ({}), levels: { values: {} } }
    const b = etcdBackend({ endpoints, transport: scripted(answers), logger: pinoLike as never })
    await b.resolve('s', {})
    expect(calls).toEqual([[{ key: '/governance/services/s/b', reason: expect.any(String) }, 'etcd: skipping an instance key that is not a valid instance']])
    await b.close()
  })

  it('a watch resumes from the last delivered revision + 1 and never applies an event twice', async () => {
    const key = b64('/governance/config/app')
    const entry = (v: number, rev: string) => ({ kv: { key, value: b64(JSON.stringify({ value: v })), mod_revision: rev } })
    const t = scripted({ '/v3/kv/range': { ...header('10') } }, [
      async function* () {
        yield { result: { ...header('10'), created: true } }
        yield { result: { ...header('11'), events: [entry(1, '11')] } }
        throw new Error('socket hang up')
      },
      async function* () {
        yield { result: { ...header('12'), created: true } }
        // A server repeating an old event must not make the state go back.
        yield { result: { ...header('12'), events: [entry(1, '11'), entry(2, '12')] } }
        yield { error: { grpc_code: 14, http_code: 503, message: 'etcdserver: no leader' } }
      },
    ])
    const b = backendOn(t)
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = b.watchConfig('app', rec)
    await rec.until((v) => v?.value === 2)
    await rec.until(() => rec.errors.length >= 2 && t.opened.length >= 3)
    stop()
    expect(rec.values.map((r) => [r.value?.value, r.meta.revision])).toEqual([[undefined, '10'], [1, '11'], [2, '12']])
    // One NDJSON line per create request (the hub multiplexes watches on a stream).
    const starts = t.opened.map((o) => (JSON.parse(o.rawBody!.data.split('\n')[0]!) as { create_request: { start_revision: string } }).create_request.start_revision)
    expect(starts.slice(0, 3)).toEqual(['11', '12', '13'])
    expect(t.opened[0]?.headers?.['grpc-metadata-hasleader']).toBe('true')
    expect(rec.errors[1]?.message).toMatch(/no leader/)
    await b.close()
  })

  it('a compacted watch re-reads the range and delivers it as a reset', async () => {
    let ranges = 0
    const kv = (n: number, rev: string) => ({ key: b64('/governance/services/s/i-' + n), value: b64(JSON.stringify({ address: 'h', port: n })), mod_revision: rev })
    const t = scripted(
      { '/v3/kv/range': () => (++ranges === 1 ? { ...header('5'), kvs: [kv(1, '5')] } : { ...header('30'), kvs: [kv(2, '30')] }) },
      [
        async function* () {
          yield { result: { ...header('30'), created: true } }
          yield { result: { ...header('30'), canceled: true, compact_revision: '25' } }
          await new Promise(() => undefined) // the gateway keeps the stream open after a compaction
        },
      ],
    )
    const b = backendOn(t)
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = b.watchService('s', rec)
    const reset = await rec.until((_v, m) => m.reset)
    stop()
    expect(reset.value.instances.map((i) => i.id)).toEqual(['i-2'])
    expect(reset.meta.revision).toBe('30')
    expect(rec.values.map((r) => r.meta.reset)).toEqual([false, true])
    await b.close()
  })
})

describe('etcd test gating', () => {
  it('skips with a one-line notice naming the install command, or fails under CI=true', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      vi.stubEnv('CI', '')
      expect(etcdAvailable('some tests', () => undefined)).toBe(false)
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/apt-get install etcd-server/)
      vi.stubEnv('CI', 'true')
      expect(() => etcdAvailable('some tests', () => undefined)).toThrow(/CI=true/)
      expect(etcdAvailable('some tests', () => '/usr/bin/etcd')).toBe(true)
    } finally {
      warn.mockRestore()
    }
  })
})

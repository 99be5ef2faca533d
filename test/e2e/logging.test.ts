/**
 * Logging: a real pino logger keeps the fields of every warning; `logger: false` silences
 * a backend built outside the client (a real etcd), which used to write to stderr.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { GovernanceClient, fieldsFirstLogger } from '../../src/index.js'
import { etcdAvailable, etcdCall, b64, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js'

function pinoLines() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

describe('pino as the logger', () => {
  it('keeps the fields of a warning (the shape is detected)', async () => {
    const { logger, lines } = pinoLines()
    const gov = new GovernanceClient({ server: 'http://127.0.0.1:9', logger, metrics: { sinks: [], processMetrics: false } })
    // A counter past its series cap logs a warning with { metric, maxSeries }.
    const c = gov.metrics.counter('capped_total', { maxSeries: 1 })
    c.inc(1, { a: '1' })
    c.inc(1, { a: '2' })
    await gov.close()
    const warning = lines.find((l) => String(l['msg']).includes('reached its cap'))
    expect(warning).toMatchObject({ level: 40, metric: 'capped_total', maxSeries: 1 })
  })

  it('fieldsFirstLogger adapts a wrapper that cannot be recognised, errors under `err`', () => {
    const calls: unknown[][] = []
    const wrapper = { debug: (...a: unknown[]) => calls.push(a), info: (...a: unknown[]) => calls.push(a), warn: (...a: unknown[]) => calls.push(a), error: (...a: unknown[]) => calls.push(a) }
    const error = new Error('boom')
    fieldsFirstLogger(wrapper).warn('it failed', { error, sink: 's' })
    expect(calls).toEqual([[{ err: error, sink: 's' }, 'it failed']])
  })
})

describe.skipIf(!etcdAvailable('the logging test'))('a backend built outside the client', () => {
  let cluster: EtcdCluster | undefined
  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 1 })
    // A key under the service that is no instance: the backend warns about it on every read.
    const answer = await etcdCall(cluster.endpoints[0]!, '/v3/kv/put', { key: b64('/logging/services/orders/broken'), value: b64('not json') })
    expect(answer.status).toBe(200)
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  async function stderrOf(logger: false | undefined): Promise<string> {
    let written = ''
    const original = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written += chunk.toString()
      return original(chunk, ...(rest as []))
    }) as typeof process.stderr.write
    try {
      const backend = etcdBackend({ endpoints: cluster!.endpoints, prefix: '/logging' })
      const gov = new GovernanceClient({ backend, ...(logger === false && { logger }), metrics: { sinks: [], processMetrics: false } })
      await gov.discover('orders')
      await gov.close()
    } finally {
      process.stderr.write = original
    }
    return written
  }

  it('with logger: false, nothing reaches stderr; without it, the warning does', async () => {
    expect(await stderrOf(undefined)).toContain('not a valid instance')
    expect(await stderrOf(false)).toBe('')
  })
})

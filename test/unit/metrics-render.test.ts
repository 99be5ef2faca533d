import { describe, expect, it } from 'vitest'
import { createMetrics, OVERFLOW_LABEL, type Metrics } from '../../src/metrics/index.js'
import { ExpositionError, parseExposition, sampleValue } from '../helpers/exposition-parser.js'

function metrics(options: Parameters<typeof createMetrics>[0] = {}): Metrics {
  return createMetrics(
    { processMetrics: false, upstreamMetrics: false, ...options },
    { emit: () => undefined, logger: { debug() {}, info() {}, warn() {}, error() {} }, clock: { now: () => 0 }, service: 's', instanceId: 'i', sinks: [] },
  )
}

describe('render()', () => {
  it('is empty when nothing was recorded', () => {
    const m = metrics()
    m.counter('c_total')
    expect(m.render()).toBe('')
  })

  it('writes HELP, TYPE and samples that a strict parser accepts', () => {
    const m = metrics({ maxSeriesPerInstrument: 2 })
    m.counter('http_requests_total', { help: 'Requests.' }).inc(3, { route: '/a', status: '200' })
    m.gauge('queue_depth').set(-2.5)
    const h = m.histogram('rt_ms', { help: 'Response time.', buckets: [0.5, 10, 1e21] })
    h.observe(0.1, { route: '/a' })
    h.observe(20, { route: '/a' })
    h.observe(1e22, { route: '/b' })
    for (const u of ['a', 'b', 'c']) m.counter('users_total').inc(1, { user: u })
    const text = m.render()
    const f = parseExposition(text)
    expect([...f.keys()]).toEqual(['http_requests_total', 'queue_depth', 'rt_ms', 'users_total'])
    expect(f.get('http_requests_total')).toMatchObject({ type: 'counter', help: 'Requests.' })
    expect(f.get('queue_depth')).toMatchObject({ type: 'gauge', help: undefined })
    expect(f.get('rt_ms')?.type).toBe('histogram')
    expect(sampleValue(f, 'queue_depth')).toBe(-2.5)
    expect(sampleValue(f, 'rt_ms_bucket', { route: '/a', le: '0.5' })).toBe(1)
    expect(sampleValue(f, 'rt_ms_bucket', { route: '/a', le: '10' })).toBe(1)
    expect(sampleValue(f, 'rt_ms_bucket', { route: '/a', le: '1e+21' })).toBe(2)
    expect(sampleValue(f, 'rt_ms_bucket', { route: '/a', le: '+Inf' })).toBe(2)
    expect(sampleValue(f, 'rt_ms_bucket', { route: '/b', le: '1e+21' })).toBe(0)
    expect(sampleValue(f, 'rt_ms_count', { route: '/b' })).toBe(1)
    expect(sampleValue(f, 'rt_ms_sum', { route: '/a' })).toBeCloseTo(20.1)
    expect(sampleValue(f, 'users_total', { [OVERFLOW_LABEL]: 'true' })).toBe(1)
    expect(text).toContain('# TYPE rt_ms histogram\n')
  })

  it('escapes label values and help text, which parse back to the originals', () => {
    const m = metrics()
    const nasty = 'a"b\\c\nd}{,=é'
    m.counter('esc_total', { help: 'line one\nback\\slash "quoted"' }).inc(1, { v: nasty })
    const text = m.render()
    expect(text).toContain('v="a\\"b\\\\c\\nd}{,=é"')
    const f = parseExposition(text)
    expect(sampleValue(f, 'esc_total', { v: nasty })).toBe(1)
    expect(f.get('esc_total')?.help).toBe('line one\nback\\slash "quoted"')
  })

  it('stays cumulative across collections', async () => {
    const batches: unknown[] = []
    const m = createMetrics(
      { processMetrics: false, upstreamMetrics: false },
      {
        emit: () => undefined,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        clock: { now: () => 0 },
        service: 's',
        instanceId: 'i',
        sinks: [{ name: 'mem', export: async (b) => void batches.push(b) }],
      },
    )
    const c = m.counter('c_total')
    const h = m.histogram('h_ms', { buckets: [1] })
    c.inc(2)
    h.observe(0.5)
    await m.flush()
    c.inc(3)
    h.observe(5)
    const f = parseExposition(m.render())
    expect(sampleValue(f, 'c_total')).toBe(5)
    expect(sampleValue(f, 'h_ms_bucket', { le: '1' })).toBe(1)
    expect(sampleValue(f, 'h_ms_count')).toBe(2)
    expect(batches).toHaveLength(1)
    await m.close()
  })
})

describe('the strict exposition parser', () => {
  const bad: Record<string, string> = {
    'no final newline': 'a 1',
    'bad metric name': '1a 1\n',
    'bad label name': 'a{1x="y"} 1\n',
    'unknown escape': 'a{x="\\t"} 1\n',
    'unterminated value': 'a{x="y} 1\n',
    'duplicate label': 'a{x="1",x="2"} 1\n',
    'duplicate series': 'a{x="1"} 1\na{x="1"} 2\n',
    'bad value': 'a 1,5\n',
    'Infinity spelling': 'a Infinity\n',
    'TYPE after samples': 'a 1\n# TYPE a gauge\n',
    'second TYPE': '# TYPE a gauge\n# TYPE a gauge\na 1\n',
    'second HELP': '# HELP a x\n# HELP a y\na 1\n',
    'unknown type': '# TYPE a thing\n',
    'split family': '# TYPE a gauge\na 1\nb 1\na{x="1"} 2\n',
    'negative counter': '# TYPE a counter\na -1\n',
    'non-cumulative buckets': '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    'unsorted buckets': '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    'missing +Inf': '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    'count differs from +Inf': '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    'missing _sum': '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n',
    'le on _sum': '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum{le="1"} 1\nh_count 1\n',
    'carriage return': 'a 1\r\n',
    'malformed HELP': '# HELP\n',
  }
  for (const [what, text] of Object.entries(bad)) {
    it(`rejects ${what}`, () => {
      expect(() => parseExposition(text)).toThrow(ExpositionError)
    })
  }

  it('accepts the format as documented, comments, timestamps and special values included', () => {
    const f = parseExposition(
      '# a free comment\n# HELP a Help with \\\\ and \\n.\n# TYPE a gauge\na{x="1",} 1.5e3 1700000000000\na{x="2"} -Inf\na{x="3"} NaN\n\nb +Inf\n',
    )
    expect(f.get('a')?.help).toBe('Help with \\ and \n.')
    expect(sampleValue(f, 'a', { x: '1' })).toBe(1500)
    expect(f.get('a')?.samples[0]?.timestamp).toBe(1_700_000_000_000)
    expect(sampleValue(f, 'a', { x: '2' })).toBe(-Infinity)
    expect(sampleValue(f, 'b')).toBe(Infinity)
    expect(f.get('b')?.type).toBe('untyped')
  })
})

/** The feed engine (src/feed/): first read, watch or the one poll loop, revision order, outage and recovery, silence. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CallContext, Unsubscribe, Watcher, WatchOptions } from '../../src/backend.js'
import { ProtocolError, ServerUnavailableError, TimeoutError, type GovernanceError } from '../../src/errors.js'
import { Feed } from '../../src/feed/feed.js'
import type { FeedOptions, FeedSource, FeedUpdate } from '../../src/feed/types.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { ConfigEntry } from '../../src/types.js'

interface Value {
  readonly n: number
  readonly revision: string
}

/** A source the test scripts: `answer` is what read() gives (or throws), watches are driven by hand. */
function scripted(withWatch = true) {
  const s = {
    answer: { n: 0, revision: '1' } as Value | Error | 'hang',
    reads: 0,
    watcher: undefined as Watcher<Value> | undefined,
    watches: [] as (string | undefined)[],
    stops: 0,
  }
  const source: FeedSource<Value> = {
    what: 'test key',
    reading: 'reading test key',
    read: async (_ctx: CallContext) => {
      s.reads++
      const a = s.answer
      if (a === 'hang') return new Promise<Value>(() => {})
      if (a instanceof Error) throw a
      return a
    },
    watch: withWatch
      ? (watcher: Watcher<Value>, options: WatchOptions | undefined): Unsubscribe => {
          s.watcher = watcher
          s.watches.push(options?.afterRevision)
          return () => {
            s.stops++
            if (s.watcher === watcher) s.watcher = undefined
          }
        }
      : undefined,
    check: (v) => {
      if (typeof v?.n !== 'number') throw new ProtocolError('not a value')
      return v
    },
    revisionOf: (v) => v.revision,
  }
  return { s, source }
}

function listen() {
  const log: string[] = []
  const values: { value: unknown; update: FeedUpdate }[] = []
  const errors: GovernanceError[] = []
  const listener = {
    value: (value: unknown, update: FeedUpdate) => void values.push({ value, update }),
    outage: (e: GovernanceError) => {
      errors.push(e)
      log.push('outage')
    },
    failing: (e: GovernanceError) => {
      errors.push(e)
      log.push('failing')
    },
    recovered: () => void log.push('recovered'),
  }
  return { log, values, errors, listener }
}

const feeds: Feed<unknown>[] = []
function make<T>(source: FeedSource<T>, listener: ReturnType<typeof listen>['listener'], options: Partial<FeedOptions> = {}): Feed<T> {
  const feed = new Feed<T>(source, listener, {
    logger: silentLogger,
    now: () => Date.now(),
    requestTimeoutMs: 1_000,
    pollIntervalMs: 500,
    backoff: { minDelayMs: 100, maxDelayMs: 1_000 },
    readFirst: true,
    random: () => 1,
    ...options,
  })
  feeds.push(feed as Feed<unknown>)
  return feed
}

const settle = () => vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
})
afterEach(() => {
  for (const f of feeds.splice(0)) f.close()
  vi.useRealTimers()
})

describe('feed engine: read, then watch', () => {
  it('reads first, then watches after the revision read, and only goes forward', async () => {
    const { s, source } = scripted()
    s.answer = { n: 1, revision: '10' }
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    expect(s.reads).toBe(1)
    expect(s.watches).toEqual(['10'])
    expect(feed).toMatchObject({ value: { n: 1 }, revision: '10', source: 'live', state: 'healthy', hasValue: true })
    s.watcher!.next({ n: 2, revision: '12' }, { revision: '12', reset: false })
    s.watcher!.next({ n: 0, revision: '11' }, { revision: '11', reset: false })
    s.watcher!.next({ n: 3, revision: '12' }, { revision: '12', reset: false })
    s.watcher!.next({ n: 4, revision: '2' }, { revision: '2', reset: true })
    expect(l.values.map((v) => [v.value, v.update])).toEqual([
      [{ n: 1, revision: '10' }, { revision: '10', reset: false, from: 'read' }],
      [{ n: 2, revision: '12' }, { revision: '12', reset: false, from: 'watch' }],
      [{ n: 4, revision: '2' }, { revision: '2', reset: true, from: 'watch' }],
    ])
    expect(feed.epoch).toBe(3)
  })

  it('with readFirst off, the watch delivers the first state and no read is made', async () => {
    const { s, source } = scripted()
    const l = listen()
    const feed = make(source, l.listener, { readFirst: false })
    feed.start()
    feed.start()
    expect(s.watches).toEqual([undefined])
    s.watcher!.next({ n: 1, revision: '3' }, { revision: '3', reset: false })
    await settle()
    expect(s.reads).toBe(0)
    expect(feed.value).toEqual({ n: 1, revision: '3' })
  })

  it('a read lower than the last is a replacement when nothing landed meanwhile, a late answer otherwise', async () => {
    const { s, source } = scripted()
    s.answer = { n: 1, revision: '40' }
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    s.answer = { n: 2, revision: '3' }
    await feed.refresh(true)
    expect(l.values.at(-1)?.update).toEqual({ revision: '3', reset: true, from: 'read' })
    // A slow read that began before a watch delivery: its lower answer is dropped.
    let release: (v: Value) => void = () => {}
    source.read = () => new Promise<Value>((r) => (release = r))
    const pending = feed.refresh(true)
    s.watcher!.next({ n: 3, revision: '5' }, { revision: '5', reset: false })
    release({ n: 9, revision: '4' })
    await pending
    expect(feed.value).toEqual({ n: 3, revision: '5' })
    // An equal revision only confirms.
    s.answer = { n: 3, revision: '5' }
    source.read = async () => s.answer as Value
    const before = l.values.length
    await feed.refresh(true)
    expect(l.values).toHaveLength(before)
  })

  it('a broken watch: closed, outage once, a re-list on the backoff, and a new watch after the revision re-listed', async () => {
    const { s, source } = scripted()
    s.answer = { n: 1, revision: '44' }
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    const broken = s.watcher!
    s.answer = new ServerUnavailableError('down')
    broken.error(new ServerUnavailableError('watch broke'))
    expect(s.stops).toBe(1)
    // The closed watch is not heard any more.
    broken.error(new ServerUnavailableError('late'))
    broken.next({ n: 9, revision: '99' }, { revision: '99', reset: false })
    expect(l.log).toEqual(['outage'])
    expect(feed).toMatchObject({ state: 'outage', value: { n: 1 } })
    expect(feed.lastError?.message).toBe('watch broke')
    await vi.advanceTimersByTimeAsync(100) // re-list 1 fails: next in 200 ms
    expect(s.reads).toBe(2)
    await vi.advanceTimersByTimeAsync(200)
    expect(s.reads).toBe(3)
    s.answer = { n: 2, revision: '3' }
    await vi.advanceTimersByTimeAsync(400)
    expect(s.reads).toBe(4)
    expect(l.log).toEqual(['outage', 'failing', 'failing', 'recovered'])
    expect(s.watches).toEqual(['44', '3'])
    expect(l.values.at(-1)?.update).toEqual({ revision: '3', reset: true, from: 'read' })
    expect(feed).toMatchObject({ value: { n: 2 }, state: 'healthy', lastError: undefined })
  })

  it('a read failing while the watch confirms is older news, not an outage', async () => {
    const { s, source } = scripted()
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    let fail: (e: Error) => void = () => {}
    source.read = () => new Promise<Value>((_, reject) => (fail = reject))
    const pending = feed.refresh(true)
    await vi.advanceTimersByTimeAsync(10)
    s.watcher!.confirmed!({ revision: '1' })
    fail(new ServerUnavailableError('slow failure'))
    await pending
    expect(l.log).toEqual([])
    expect(feed.state).toBe('healthy')
  })

  it('a malformed watch delivery is a failure, not a value', async () => {
    const { s, source } = scripted()
    const l = listen()
    make(source, l.listener).start()
    await settle()
    s.watcher!.next({ revision: '9' } as unknown as Value, { revision: '9', reset: false })
    expect(l.values).toHaveLength(1)
    expect(l.errors[0]).toBeInstanceOf(ProtocolError)
  })

  it('guards the read: a backend that never answers is a TimeoutError, and the engine goes on', async () => {
    const { s, source } = scripted()
    s.answer = 'hang'
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await vi.advanceTimersByTimeAsync(1_100)
    expect(l.errors[0]).toBeInstanceOf(TimeoutError)
    expect(feed.state).toBe('outage')
    s.answer = { n: 1, revision: '1' }
    await vi.advanceTimersByTimeAsync(100)
    expect(feed.state).toBe('healthy')
  })

  it('holds callers to the backoff minimum during an outage, not its own retries', async () => {
    const { s, source } = scripted()
    s.answer = new ServerUnavailableError('down')
    const feed = make(source, listen().listener, { backoff: { minDelayMs: 1_000, maxDelayMs: 1_000 } })
    await feed.refresh()
    await feed.refresh()
    expect(s.reads).toBe(1)
    await feed.refresh(true)
    expect(s.reads).toBe(2)
  })
})

describe('feed engine: the one poll loop (no watch)', () => {
  it('reads every interval; unchanged reads confirm; failures back off, never past the interval', async () => {
    const { s, source } = scripted(false)
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    const firstConfirm = feed.confirmedAt
    await vi.advanceTimersByTimeAsync(500)
    expect(s.reads).toBe(2)
    expect(l.values).toHaveLength(1)
    expect(feed.confirmedAt).toBe(firstConfirm + 500)
    s.answer = new ServerUnavailableError('down')
    await vi.advanceTimersByTimeAsync(500) // fail 1: next in 100 ms
    await vi.advanceTimersByTimeAsync(100) // fail 2: next in 200 ms
    await vi.advanceTimersByTimeAsync(200) // fail 3: next in 400 ms
    await vi.advanceTimersByTimeAsync(400) // fail 4: 800 ms capped at the 500 ms interval
    expect(s.reads).toBe(6)
    await vi.advanceTimersByTimeAsync(499)
    expect(s.reads).toBe(6)
    s.answer = { n: 1, revision: '2' }
    await vi.advanceTimersByTimeAsync(1)
    expect(s.reads).toBe(7)
    expect(l.log).toEqual(['outage', 'failing', 'failing', 'failing', 'recovered'])
    expect(feed.value).toEqual({ n: 1, revision: '2' })
    feed.close()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(s.reads).toBe(7)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('polls a memory backend\'s config: absent is revision "0", a deletion a replacement', async () => {
    const memory = createMemoryBackend()
    memory.setConfig('app', 'a')
    const l = listen()
    const source: FeedSource<ConfigEntry | undefined> = {
      what: 'config app',
      reading: 'reading config app',
      read: (ctx) => memory.getConfig('app', ctx),
      watch: undefined,
      check: (v) => v,
      revisionOf: (e) => e?.version ?? '0',
    }
    make(source, l.listener).start()
    await settle()
    memory.deleteConfigKey('app')
    await vi.advanceTimersByTimeAsync(500)
    expect(l.values.map((v) => [(v.value as ConfigEntry | undefined)?.value, v.update.reset])).toEqual([
      ['a', false],
      [undefined, true],
    ])
  })
})

describe('feed engine: snapshot and silence', () => {
  it('takes a snapshot while nothing live is there; the next live answer replaces it as a reset', async () => {
    const { s, source } = scripted()
    s.answer = new ServerUnavailableError('down')
    const l = listen()
    const feed = make(source, l.listener)
    feed.start()
    await settle()
    const savedAt = Date.now() - 60_000
    expect(feed.offerSnapshot({ n: 7, revision: '900' }, savedAt)).toBe(true)
    expect(feed.offerSnapshot({ n: 8, revision: '901' }, savedAt)).toBe(false)
    expect(feed).toMatchObject({ value: { n: 7 }, source: 'snapshot', confirmedAt: savedAt, revision: undefined })
    s.answer = { n: 1, revision: '5' }
    await vi.advanceTimersByTimeAsync(100)
    expect(l.values.map((v) => v.update)).toEqual([
      { revision: '900', reset: true, from: 'snapshot' },
      { revision: '5', reset: true, from: 'read' },
    ])
    expect(feed.source).toBe('live')
  })

  it('probes a silent watch with a read at the refresh-ahead point, and calls it an outage past maxStalenessMs', async () => {
    const { s, source } = scripted()
    const l = listen()
    const feed = make(source, l.listener, { silence: { maxStalenessMs: 10_000, refreshAheadMs: 2_000 } })
    feed.start()
    await settle()
    await vi.advanceTimersByTimeAsync(7_999)
    expect(s.reads).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(s.reads).toBe(2) // the probe's answer confirms
    expect(feed.state).toBe('healthy')
    // A server that stops answering reads too: past maxStalenessMs, an outage.
    s.answer = 'hang'
    await vi.advanceTimersByTimeAsync(10_000)
    expect(l.errors[0]).toBeInstanceOf(TimeoutError)
    expect(feed.state).toBe('outage')
  })
})

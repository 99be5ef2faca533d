import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient, type ConfigValue, type StandardSchemaV1 } from '../../src/config/index.js'
import { runSchema } from '../../src/config/schema.js'
import { ValidationError } from '../../src/errors.js'
import type { GovernanceEventName, GovernanceEvents } from '../../src/events.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'

const clients: ConfigClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

function setup(backend: MemoryBackend = createMemoryBackend()) {
  const events: { event: GovernanceEventName; payload: unknown }[] = []
  const ctx: SubsystemContext = {
    backend,
    emit: (event, payload) => void events.push({ event, payload }),
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
  }
  const config = createConfigClient(resolveConfigOptions(undefined), ctx)
  clients.push(config)
  const rejected = () => events.filter((e) => e.event === 'config:rejected').map((e) => e.payload as GovernanceEvents['config:rejected'])
  return { backend, config, events, rejected }
}

class Recorder<T = unknown> {
  readonly changes: ConfigChange<T>[] = []
  #waiters: { n: number; resolve: () => void }[] = []
  readonly cb = (_value: T | undefined, change: ConfigChange<T>): void => {
    this.changes.push(change)
    this.#waiters = this.#waiters.filter((w) => (this.changes.length >= w.n ? (w.resolve(), false) : true))
  }
  until(n: number): Promise<void> {
    if (this.changes.length >= n) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ n, resolve }))
  }
  get values(): unknown[] {
    return this.changes.map((c) => c.value)
  }
}

interface Limits {
  maxConnections: number
  mode: 'fast' | 'safe'
}

/** A hand-written Standard Schema v1 validator, as zod/valibot/arktype expose one. */
function limitsSchema(options: { async?: boolean; delays?: number[] } = {}): StandardSchemaV1<unknown, Limits> & { calls: number } {
  const schema = {
    calls: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate(value: unknown): StandardSchemaV1.Result<Limits> | Promise<StandardSchemaV1.Result<Limits>> {
        schema.calls++
        const result = check(value)
        if (!options.async) return result
        const delay = options.delays?.shift() ?? 0
        return new Promise((resolve) => setTimeout(() => resolve(result), delay))
      },
    },
  }
  return schema
}

function check(value: unknown): StandardSchemaV1.Result<Limits> {
  const v = value as Partial<Limits> | null
  const issues: StandardSchemaV1.Issue[] = []
  if (typeof v !== 'object' || v === null) return { issues: [{ message: 'expected an object' }] }
  if (typeof v.maxConnections !== 'number' || v.maxConnections < 1) issues.push({ message: 'must be a positive number', path: [{ key: 'maxConnections' }] })
  if (v.mode !== 'fast' && v.mode !== 'safe') issues.push({ message: 'must be fast or safe', path: ['mode'] })
  return issues.length > 0 ? { issues } : { value: { maxConnections: v.maxConnections!, mode: v.mode! } }
}

describe('runSchema', () => {
  it('runs a synchronous Standard Schema without a promise and normalises issue paths', () => {
    const schema = limitsSchema()
    expect(runSchema(schema, { maxConnections: 5, mode: 'fast' })).toEqual({ ok: true, value: { maxConnections: 5, mode: 'fast' } })
    expect(runSchema(schema, { maxConnections: 0, mode: 'x' })).toEqual({
      ok: false,
      issues: [
        { message: 'must be a positive number', path: ['maxConnections'] },
        { message: 'must be fast or safe', path: ['mode'] },
      ],
    })
  })

  it('awaits an asynchronous Standard Schema', async () => {
    const outcome = runSchema(limitsSchema({ async: true }), { maxConnections: 1, mode: 'safe' })
    expect(outcome).toBeInstanceOf(Promise)
    expect(await outcome).toEqual({ ok: true, value: { maxConnections: 1, mode: 'safe' } })
  })

  it('takes a parse function, turning what it throws into issues', () => {
    expect(runSchema((raw) => Number(raw) * 2, '21')).toEqual({ ok: true, value: 42 })
    expect(runSchema(() => { throw new Error('nope') }, 1)).toEqual({ ok: false, issues: [{ message: 'nope' }] })
    // A ZodError-like throw keeps its issues and paths.
    const zodLike = Object.assign(new Error('bad'), { issues: [{ message: 'Required', path: ['a', 0] }] })
    expect(runSchema(() => { throw zodLike }, 1)).toEqual({ ok: false, issues: [{ message: 'Required', path: ['a', 0] }] })
    const own = new ValidationError('x', [{ message: 'too big', path: ['n'] }])
    expect(runSchema(() => { throw own }, 1)).toEqual({ ok: false, issues: [{ message: 'too big', path: ['n'] }] })
  })

  it('prefers ~standard on a callable schema (arktype types are functions)', () => {
    const callable = Object.assign(() => 'called as a function', {
      '~standard': { version: 1 as const, vendor: 'ark', validate: (v: unknown) => ({ value: `validated ${String(v)}` }) },
    })
    expect(runSchema(callable, 'x')).toEqual({ ok: true, value: 'validated x' })
  })
})

describe('typed config', () => {
  it('delivers the validated output and rejects an invalid push, keeping the last good value', async () => {
    const { backend, config, rejected } = setup()
    const v1 = backend.setConfig('limits', { maxConnections: 10, mode: 'fast', extra: true })
    const schema = limitsSchema()
    const rec = new Recorder<Limits>()
    config.watch('limits', rec.cb, { schema })
    await rec.until(1)
    expect(rec.changes[0]?.value).toEqual({ maxConnections: 10, mode: 'fast' })

    const bad = backend.setConfig('limits', { maxConnections: -1, mode: 'fast' })
    expect(rec.changes).toHaveLength(1)
    expect(rejected()).toHaveLength(1)
    const event = rejected()[0]!
    expect(event.key).toBe('limits')
    expect(event.version).toBe(bad.version)
    expect(event.error).toBeInstanceOf(ValidationError)
    expect((event.error as ValidationError).issues).toEqual([{ message: 'must be a positive number', path: ['maxConnections'] }])
    expect(await config.get('limits', { schema })).toMatchObject({ value: { maxConnections: 10, mode: 'fast' }, version: v1.version, source: 'memory' })
    expect(await config.get('limits')).toMatchObject({ version: v1.version })

    backend.setConfig('limits', { maxConnections: 20, mode: 'safe' })
    await rec.until(2)
    // previous is what this watcher was given, not the rejected value.
    expect(rec.changes[1]).toMatchObject({ value: { maxConnections: 20, mode: 'safe' }, previous: { maxConnections: 10, mode: 'fast' } })
  })

  it('accepts a plain parse function as the schema', async () => {
    const { backend, config, rejected } = setup()
    backend.setConfig('port', '8080')
    const parsePort = (raw: unknown): number => {
      const n = Number(raw)
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`not a port: ${String(raw)}`)
      return n
    }
    const rec = new Recorder<number>()
    config.watch('port', rec.cb, { schema: parsePort })
    await rec.until(1)
    backend.setConfig('port', 'http')
    backend.setConfig('port', 9090)
    await rec.until(2)
    expect(rec.values).toEqual([8080, 9090])
    expect(rejected().map((r) => r.error.message)).toEqual([expect.stringMatching(/not a port: http/)])
  })

  it('keeps version order with an asynchronous schema whose validations finish out of order', async () => {
    const { backend, config } = setup()
    backend.setConfig('limits', { maxConnections: 1, mode: 'fast' })
    const rec = new Recorder<Limits>()
    config.watch('limits', rec.cb, { schema: limitsSchema({ async: true, delays: [5, 30, 1, 1, 1] }) })
    await rec.until(1)
    for (let i = 2; i <= 5; i++) backend.setConfig('limits', { maxConnections: i, mode: 'fast' })
    await untilLimit(rec, 5)
    const seen = rec.values.map((v) => (v as Limits).maxConnections)
    expect(seen.at(-1)).toBe(5)
    expect([...seen].sort((a, b) => a - b)).toEqual(seen)
  })

  it('delivers a value only when every schema attached to the key accepts it', async () => {
    const { backend, config, rejected } = setup()
    backend.setConfig('limits', { maxConnections: 1, mode: 'fast' })
    const strict = new Recorder<Limits>()
    const loose = new Recorder()
    config.watch('limits', strict.cb, { schema: limitsSchema() })
    config.watch('limits', loose.cb)
    await loose.until(1)
    await strict.until(1)
    backend.setConfig('limits', { maxConnections: 'many' })
    backend.setConfig('limits', { maxConnections: 2, mode: 'safe' })
    await loose.until(2)
    expect(loose.values).toEqual([{ maxConnections: 1, mode: 'fast' }, { maxConnections: 2, mode: 'safe' }])
    expect(strict.changes).toHaveLength(2)
    expect(rejected()).toHaveLength(1)
  })

  it('gives a late watcher whose schema rejects the current value nothing until a valid one', async () => {
    const { backend, config, rejected } = setup()
    backend.setConfig('limits', { maxConnections: 0 })
    const loose = new Recorder()
    config.watch('limits', loose.cb)
    await loose.until(1)
    const strict = new Recorder<Limits>()
    config.watch('limits', strict.cb, { schema: limitsSchema() })
    await Promise.resolve()
    expect(strict.changes).toHaveLength(0)
    expect(rejected()).toHaveLength(1)
    backend.setConfig('limits', { maxConnections: 3, mode: 'safe' })
    await strict.until(1)
    expect(strict.changes[0]).toMatchObject({ value: { maxConnections: 3, mode: 'safe' }, previous: undefined })
  })

  it('throws ValidationError from get() when the schema rejects the value', async () => {
    const { backend, config } = setup()
    backend.setConfig('limits', { maxConnections: 0, mode: 'fast' })
    await expect(config.get('limits', { schema: limitsSchema() })).rejects.toBeInstanceOf(ValidationError)
    await expect(config.get('limits', { schema: limitsSchema() })).rejects.toThrow(/config limits version \d+ failed validation at maxConnections/)
    const ok = await config.get('limits', { schema: (raw) => (raw as { mode: string }).mode })
    expect(ok?.value).toBe('fast')
  })
})

/** Waits until the recorder has seen the value numbered n (async validators coalesce). */
async function untilLimit(rec: Recorder<Limits>, n: number): Promise<void> {
  while ((rec.changes.at(-1)?.value as Limits | undefined)?.maxConnections !== n) await rec.until(rec.changes.length + 1)
}

describe('schema typing', () => {
  it('infers T from a Standard Schema or a parse function', async () => {
    const { backend, config } = setup()
    backend.setConfig('limits', { maxConnections: 1, mode: 'fast' })
    const fromStandard = await config.get('limits', { schema: limitsSchema() })
    expectTypeOf(fromStandard).toEqualTypeOf<ConfigValue<Limits> | undefined>()
    const fromParse = await config.get('limits', { schema: (raw) => String(raw) })
    expectTypeOf(fromParse).toEqualTypeOf<ConfigValue<string> | undefined>()
    const off = config.watch('limits', (value, change) => {
      expectTypeOf(value).toEqualTypeOf<Limits | undefined>()
      expectTypeOf(change.previous).toEqualTypeOf<Limits | undefined>()
    }, { schema: limitsSchema() })
    off()
    expect(fromStandard?.value).toEqual({ maxConnections: 1, mode: 'fast' })
  })
})

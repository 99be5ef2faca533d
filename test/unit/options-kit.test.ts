/** The options kit: each reader's rule, its default, and the one message format. */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { thrown } from '../helpers/thrown.js'
import {
  bool,
  count,
  delayRange,
  durationMs,
  failSecret,
  finiteNumber,
  func,
  httpUrl,
  list,
  objectOption,
  oneOf,
  optionPath,
  positiveInt,
  positiveNumber,
  ratio,
  secret,
  string,
} from '../../src/internal/options-kit.js'

/** The error a reader throws, checked for its class and its `details.option`. */
function refusal(read: () => unknown, path: string): string {
  const error = thrown(read)
  expect(error).toBeInstanceOf(InvalidArgumentError)
  expect((error as InvalidArgumentError).details).toEqual({ option: path })
  return (error as Error).message
}

describe('options kit', () => {
  it('joins paths, a bare key at the top', () => {
    expect(optionPath('', 'ttlMs')).toBe('ttlMs')
    expect(optionPath('etcd.watchBackoff', 'maxDelayMs')).toBe('etcd.watchBackoff.maxDelayMs')
  })

  it('durationMs: whole milliseconds, the default for undefined, bounds inclusive', () => {
    expect(durationMs('a.b', undefined, { default: 5 })).toBe(5)
    expect(durationMs('a.b', undefined, {})).toBeUndefined()
    expect(durationMs('a.b', 7, { default: 5 })).toBe(7)
    expect(durationMs('a.b', 0, { default: 5, min: 0 })).toBe(0)
    expect(durationMs('a.b', 100, { default: 5, min: 100, max: 100 })).toBe(100)
    expect(refusal(() => durationMs('etcd.requestTimeoutMs', -1, { default: 5 }), 'etcd.requestTimeoutMs')).toBe('etcd.requestTimeoutMs must be a positive integer (ms), got -1')
    expect(refusal(() => durationMs('x', 1.5, { default: 5 }), 'x')).toBe('x must be a positive integer (ms), got 1.5')
    expect(refusal(() => durationMs('x', -1, { default: 5, min: 0 }), 'x')).toBe('x must be a non-negative integer (ms), got -1')
    expect(refusal(() => durationMs('x', 50, { default: 500, min: 100 }), 'x')).toBe('x must be an integer (ms) >= 100, got 50')
    expect(refusal(() => durationMs('x', 301, { default: 5, max: 300 }), 'x')).toBe('x must be an integer (ms) from 1 to 300, got 301')
    expect(refusal(() => durationMs('x', '5', { default: 5 }), 'x')).toBe('x must be a positive integer (ms), got "5"')
    expect(refusal(() => durationMs('x', null, { default: 5 }), 'x')).toBe('x must be a positive integer (ms), got null')
    expect(refusal(() => durationMs('x', undefined, { required: true }), 'x')).toBe('x must be a positive integer (ms), got undefined')
  })

  it('durationMs: Infinity only where the option documents "never"', () => {
    expect(refusal(() => durationMs('x', Infinity, { default: 5 }), 'x')).toBe('x must be a positive integer (ms), got Infinity')
    expect(durationMs('x', Infinity, { default: 5, infinite: true })).toBe(Infinity)
    expect(refusal(() => durationMs('x', NaN, { default: 5, infinite: true }), 'x')).toBe('x must be a positive integer (ms), or Infinity (never), got NaN')
  })

  it('count and positiveInt: whole numbers', () => {
    expect(count('n', undefined, { default: 3 })).toBe(3)
    expect(count('n', 0, { default: 3 })).toBe(0)
    expect(positiveInt('n', 2, { default: 3 })).toBe(2)
    expect(refusal(() => count('n', -1, { default: 3 }), 'n')).toBe('n must be a non-negative integer, got -1')
    expect(refusal(() => positiveInt('n', 0, { default: 3 }), 'n')).toBe('n must be a positive integer, got 0')
    expect(refusal(() => count('port', 70_000, { min: 1, max: 65_535, required: true }), 'port')).toBe('port must be an integer from 1 to 65535, got 70000')
    expect(refusal(() => count('n', 2 ** 60, { default: 1 }), 'n')).toMatch(/^n must be a non-negative integer, got /)
  })

  it('finiteNumber, ratio and positiveNumber', () => {
    expect(finiteNumber('f', 0.5, { default: 1, min: 0, max: 2 })).toBe(0.5)
    expect(ratio('r', undefined, { default: 0.1 })).toBe(0.1)
    expect(refusal(() => ratio('r', 1.5, { default: 0.1 }), 'r')).toBe('r must be a number from 0 to 1, got 1.5')
    expect(refusal(() => finiteNumber('f', Infinity, { default: 1 }), 'f')).toBe('f must be a finite number, got Infinity')
    expect(positiveNumber('t', 0.25)).toBe(0.25)
    expect(refusal(() => positiveNumber('t', 0), 't')).toBe('t must be a positive finite number, got 0')
  })

  it('bool, oneOf, func', () => {
    expect(bool('b', undefined, true)).toBe(true)
    expect(bool('b', false, true)).toBe(false)
    expect(refusal(() => bool('b', 'yes', true), 'b')).toBe('b must be true or false, got "yes"')
    expect(oneOf('s', undefined, ['a', 'b'], 'a')).toBe('a')
    expect(oneOf('s', 'b', ['a', 'b'], 'a')).toBe('b')
    expect(refusal(() => oneOf('s', 'c', ['a', 'b'], 'a'), 's')).toBe("s must be one of 'a', 'b', got \"c\"")
    const f = (): void => undefined
    expect(func('f', f)).toBe(f)
    expect(refusal(() => func('f', 1), 'f')).toBe('f must be a function, got 1')
  })

  it('string: non-empty, no control characters, an optional pattern', () => {
    expect(string('s', undefined, { default: 'd' })).toBe('d')
    expect(string('s', undefined)).toBeUndefined()
    expect(refusal(() => string('s', ''), 's')).toBe('s must be a non-empty string without control characters, got ""')
    expect(refusal(() => string('s', 'a\nb'), 's')).toBe('s must be a non-empty string without control characters, got "a\\nb"')
    expect(refusal(() => string('s', 'abc', { pattern: /^\//, rule: 'must start with "/"' }), 's')).toBe('s must start with "/", got "abc"')
  })

  it('secret: the message never shows the value', () => {
    const rule = { pattern: /^\S+$/, rule: 'must be one word' }
    expect(secret('t', 'ab', rule)).toBe('ab')
    const message = refusal(() => secret('t', 'hunter 2', rule), 't')
    expect(message).toBe('t must be one word, got a string (hidden)')
    expect(message).not.toContain('hunter')
    expect(refusal(() => secret('t', 5, rule), 't')).toBe('t must be one word, got a number')
    expect(refusal(() => failSecret('t', 'must be set', ''), 't')).toBe('t must be set, got ""')
  })

  it('objectOption: refuses what is not an object and every unknown key, naming its full path', () => {
    expect(objectOption('etcd.watchBackoff', undefined, ['minDelayMs'])).toEqual({})
    expect(objectOption('etcd', { a: 1 }, ['a', 'b'])).toEqual({ a: 1 })
    expect(refusal(() => objectOption('etcd', undefined, ['a'], { required: true }), 'etcd')).toBe('etcd must be an object, got undefined')
    expect(refusal(() => objectOption('etcd', [1], ['a']), 'etcd')).toBe('etcd must be an object, got [1]')
    expect(refusal(() => objectOption('etcd', { watchBackof: { minDelayMs: 1 } }, ['watchBackoff']), 'etcd.watchBackof')).toBe(
      'etcd.watchBackof is not an option (known: watchBackoff), got {"minDelayMs":1}',
    )
    expect(refusal(() => objectOption('', { ttl: 5 }, ['ttlMs']), 'ttl')).toBe('ttl is not an option (known: ttlMs), got 5')
  })

  it('list: a non-empty array, each item read at its index, one item alone when allowed', () => {
    expect(list('xs', [1, 2], (_p, v) => Number(v) * 2)).toEqual([2, 4])
    expect(list('xs', 'a', (_p, v) => v, { single: true })).toEqual(['a'])
    expect(refusal(() => list('xs', [], (_p, v) => v), 'xs')).toBe('xs must be a non-empty array, got []')
    expect(refusal(() => list('xs', [1, 'b'], (p, v) => positiveInt(p, v, { default: 1 })), 'xs[1]')).toBe('xs[1] must be a positive integer, got "b"')
  })

  it('httpUrl: http(s), no query, fragment or (unless allowed) credentials', () => {
    expect(httpUrl('u', 'https://gov.test/p/').pathname).toBe('/p/')
    expect(refusal(() => httpUrl('u', 'ftp://x'), 'u')).toBe('u must be an http or https URL, got "ftp://x"')
    expect(refusal(() => httpUrl('u', 'nope'), 'u')).toBe('u must be a valid URL, got "nope"')
    expect(refusal(() => httpUrl('u', 'http://x.test/?a=1'), 'u')).toBe('u must not have a query or fragment, got "http://x.test/?a=1"')
    const message = refusal(() => httpUrl('u', 'http://me:pw@x.test'), 'u')
    expect(message).not.toContain('pw')
    expect(httpUrl('u', 'http://me:pw@x.test', { credentials: true }).username).toBe('me')
    expect(refusal(() => httpUrl('u', `http://${'a'.repeat(254)}`), 'u')).toMatch(/^u must have a host name of at most 253 characters/)
  })

  it('delayRange: a ceiling not given follows a floor given; a floor above a ceiling given is refused', () => {
    const defaults = { minDelayMs: 100, maxDelayMs: 5_000 }
    expect(delayRange('b', undefined, defaults)).toEqual(defaults)
    expect(delayRange('b', { minDelayMs: 9_000 }, defaults)).toEqual({ minDelayMs: 9_000, maxDelayMs: 9_000 })
    expect(refusal(() => delayRange('b', { minDelayMs: 10, maxDelayMs: 5 }, defaults), 'b.minDelayMs')).toBe('b.minDelayMs must not exceed b.maxDelayMs (5), got 10')
    expect(refusal(() => delayRange('etcd.watchBackoff', { maxDelayMs: 0 }, defaults), 'etcd.watchBackoff.maxDelayMs')).toBe(
      'etcd.watchBackoff.maxDelayMs must be a positive integer (ms), got 0',
    )
    expect(refusal(() => delayRange('b', { max: 1 }, defaults), 'b.max')).toMatch(/^b\.max is not an option/)
    expect(delayRange('r', { minDelayMs: 0, maxDelayMs: 0, retries: 1 }, defaults, { min: 0, extraKeys: ['retries'] })).toEqual({ minDelayMs: 0, maxDelayMs: 0 })
  })
})

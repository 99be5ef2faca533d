import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG_OPTIONS, resolveConfigOptions } from '../../src/config/index.js'
import { InvalidArgumentError } from '../../src/errors.js'

describe('resolveConfigOptions', () => {
  it('fills defaults', () => {
    expect(resolveConfigOptions(undefined)).toEqual({ pollIntervalMs: 1_000, snapshot: true, changesBufferSize: 16 })
    expect(resolveConfigOptions({})).toEqual(DEFAULT_CONFIG_OPTIONS)
    expect(resolveConfigOptions({ pollIntervalMs: 250, snapshot: false, changesBufferSize: 1 })).toEqual({
      pollIntervalMs: 250,
      snapshot: false,
      changesBufferSize: 1,
    })
  })

  it.each([
    [{ pollIntervalMs: 0 }, /config\.pollIntervalMs must be an integer \(ms\) from 10 to 3600000, got 0/],
    [{ pollIntervalMs: 1.5 }, /config\.pollIntervalMs .* got 1\.5/],
    [{ pollIntervalMs: '1000' }, /config\.pollIntervalMs .* got "1000"/],
    [{ snapshot: 'yes' }, /config\.snapshot must be true or false, got "yes"/],
    [{ changesBufferSize: 0 }, /config\.changesBufferSize/],
    [{ pollIntervalMS: 100 }, /config\.pollIntervalMS is not an option/],
    [null, /config must be an object, got null/],
    [[], /config must be an object/],
  ])('rejects %j', (raw, message) => {
    expect(() => resolveConfigOptions(raw as never)).toThrow(InvalidArgumentError)
    expect(() => resolveConfigOptions(raw as never)).toThrow(message)
  })
})

/** Option validation of the registry backends: a wrong option fails at creation, naming itself. */
import { describe, expect, it } from 'vitest'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { InvalidArgumentError } from '../../src/errors.js'

const bad = (make: () => unknown, mentions: RegExp): void => {
  let error: unknown
  try {
    make()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(InvalidArgumentError)
  expect((error as Error).message).toMatch(mentions)
}

describe('registry backend options', () => {
  it('need exactly one of url and urls, each a plain http(s) URL', () => {
    bad(() => consulBackend({} as never), /^consul\.url must be given, or consul\.urls: exactly one of the two/)
    bad(() => nacosBackend({ url: 'http://a:1', urls: ['http://b:1'] }), /^nacos\.url must be given, or nacos\.urls: exactly one of the two/)
    bad(() => eurekaBackend({ urls: [] }), /urls/)
    bad(() => consulBackend({ url: 'ftp://x' }), /url/)
    bad(() => consulBackend({ urls: ['http://a:1', 'http://user:pw@b:1'] }), /urls\[1\]/)
  })

  it('check each backend-specific option', () => {
    bad(() => consulBackend({ url: 'http://a:1', blockingWaitMs: 300_000 }), /blockingWaitMs/)
    bad(() => consulBackend({ url: 'http://a:1', deregisterCriticalAfterMs: 10 }), /deregisterCriticalAfterMs/)
    bad(() => consulBackend({ url: 'http://a:1', kvPrefix: '/abs' }), /kvPrefix/)
    bad(() => consulBackend({ url: 'http://a:1', token: 'a b' }), /token/)
    bad(() => nacosBackend({ url: 'http://a:1', username: 'u' }), /nacos\.username and nacos\.password must be given together/)
    bad(() => nacosBackend({ url: 'http://a:1', group: 'A@@B' }), /group/)
    bad(() => nacosBackend({ url: 'http://a:1', longPollTimeoutMs: 1_000 }), /longPollTimeoutMs/)
    bad(() => eurekaBackend({ url: 'http://a:1', registryFetchIntervalMs: 0 }), /registryFetchIntervalMs/)
    bad(() => eurekaBackend({ url: 'http://a:1', watchBackoff: { minDelayMs: 10, maxDelayMs: 1 } }), /watchBackoff/)
  })

  it('take a Logger or false as logger, and refuse anything else naming the option', async () => {
    bad(() => consulBackend({ url: 'http://a:1', logger: 'quiet' as never }), /^consul\.logger must be an object with debug, info, warn and error methods, or false/)
    bad(() => nacosBackend({ url: 'http://a:1', logger: true as never }), /^nacos\.logger must be an object/)
    bad(() => eurekaBackend({ url: 'http://a:1', logger: { warn: () => undefined } as never }), /logger\.debug must be a function/)
    for (const backend of [consulBackend({ url: 'http://a:1', logger: false }), nacosBackend({ url: 'http://a:1', logger: false }), eurekaBackend({ url: 'http://a:1', logger: false })]) {
      await backend.close()
    }
  })
})

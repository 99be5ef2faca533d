import { describe, expect, it } from 'vitest'
import * as errors from '../../src/errors.js'
import {
  ConflictError,
  GovernanceError,
  NotFoundError,
  ProtocolError,
  ResponseTooLargeError,
  ValidationError,
  isGovernanceError,
  isRetryableError,
  toGovernanceError,
} from '../../src/errors.js'

describe('GovernanceError hierarchy', () => {
  it('gives every class a stable, distinct code and a matching name', () => {
    const classes = Object.values(errors).filter(
      (v): v is typeof GovernanceError => typeof v === 'function' && (v === GovernanceError || v.prototype instanceof GovernanceError),
    )
    expect(classes.length).toBeGreaterThanOrEqual(15)
    const codes = new Set<string>()
    for (const C of classes) {
      const e = C === ValidationError ? new ValidationError('m', []) : new C('m')
      expect(e.name).toBe(C.name)
      expect(e.code).toMatch(/^GOV_[A-Z_]+$/)
      codes.add(e.code)
    }
    // The base class has its own code too, so no code stands for two classes.
    expect(codes.size).toBe(classes.length)
    expect(new GovernanceError('m').code).toBe('GOV_ERROR')
    expect(toGovernanceError(new Error('boom')).code).toBe('GOV_ERROR')
  })

  it('recognises instances by brand, so a copy of the classes from another build matches', () => {
    // A second module instance stands in for the CJS build's copy of the classes.
    const kinds = Object.getOwnPropertySymbols(new ConflictError('x'))
    expect(kinds.map((s) => s.description)).toContain('governance-client.error-kinds')
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>
    Object.defineProperty(foreign, Symbol.for('governance-client.error-kinds'), { value: ['ConflictError', 'GovernanceError'] })
    expect(foreign instanceof ConflictError).toBe(true)
    expect(foreign instanceof GovernanceError).toBe(true)
    expect(foreign instanceof NotFoundError).toBe(false)
  })

  it('keeps subclass relations and rejects non-errors', () => {
    const e = new ResponseTooLargeError('big')
    expect(e instanceof ProtocolError).toBe(true)
    expect(e instanceof GovernanceError).toBe(true)
    expect(e instanceof Error).toBe(true)
    expect(new ProtocolError('p') instanceof ResponseTooLargeError).toBe(false)
    expect(({}) instanceof GovernanceError).toBe(false)
    expect((null as unknown) instanceof GovernanceError).toBe(false)
    expect(new Error('plain') instanceof GovernanceError).toBe(false)
  })

  it('carries retryable, status, details and cause', () => {
    const cause = new Error('socket')
    const e = new errors.ServerUnavailableError('down', { cause, status: 503, details: { url: 'http://x' } })
    expect(e.retryable).toBe(true)
    expect(e.status).toBe(503)
    expect(e.details).toEqual({ url: 'http://x' })
    expect(e.cause).toBe(cause)
    expect(new ConflictError('c').retryable).toBe(false)
    expect(new ConflictError('c', { retryable: true }).retryable).toBe(true)
    expect(isRetryableError(e)).toBe(true)
    expect(isRetryableError(new Error('x'))).toBe(false)
  })

  it('wraps foreign throwables without losing them', () => {
    const original = new TypeError('boom')
    const wrapped = toGovernanceError(original, 'parsing failed')
    expect(isGovernanceError(wrapped)).toBe(true)
    expect(wrapped.message).toBe('parsing failed: boom')
    expect(wrapped.cause).toBe(original)
    const own = new NotFoundError('n')
    expect(toGovernanceError(own)).toBe(own)
  })
})

/**
 * The query parameters of blocking queries (protocol section 4) and of conditional
 * deletes: `index`, `wait`, `ifVersion`, each given at most once.
 */
import { badRequest } from '../http-error.js'
import { quote } from '../validation.js'

export const DEFAULT_WAIT_MS = 60_000
export const MAX_WAIT_MS = 300_000

export interface BlockingParams {
  /** The index the client has seen; 0n means "answer at once". */
  readonly index: bigint
  readonly waitMs: number
}

export function queryParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name)
  if (values.length > 1) throw badRequest(`query parameter ${name} is given ${values.length} times`)
  return values[0]
}

export function parseIndex(text: string | undefined): bigint {
  if (text === undefined) return 0n
  if (!/^(0|[1-9][0-9]{0,29})$/.test(text)) throw badRequest(`index must be a decimal integer, not ${quote(text)}`)
  return BigInt(text)
}

/** `500ms`, `30s`, `2m` (a decimal fraction is accepted); clamped to five minutes. */
export function parseWait(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS
  const match = /^([0-9]{1,9}(?:\.[0-9]{1,6})?)(ms|s|m)$/.exec(text)
  if (!match) throw badRequest(`wait must be a duration like 500ms, 30s or 2m, not ${quote(text)}`)
  const unit = match[2] === 'ms' ? 1 : match[2] === 's' ? 1_000 : 60_000
  return Math.min(MAX_WAIT_MS, Math.ceil(Number(match[1]) * unit))
}

export function parseBlocking(query: URLSearchParams): BlockingParams {
  return { index: parseIndex(queryParam(query, 'index')), waitMs: parseWait(queryParam(query, 'wait')) }
}

export function parseIfVersion(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined
  if (!/^(0|[1-9][0-9]{0,29})$/.test(text)) throw badRequest(`ifVersion must be a decimal string, not ${quote(text)}`)
  return BigInt(text)
}

/** Whether a request that has seen `requested` of a resource now at `current` must wait (0 never does). */
export function mustHold(current: bigint, requested: bigint): boolean {
  return requested !== 0n && current === requested
}

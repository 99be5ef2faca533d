/**
 * The body of `POST /v1/watch` (protocol section 4.1): the resources one stream carries,
 * each with the index the client holds, and the keep-alive interval it asks for.
 */
import { parseIndex } from './protocol/blocking-params.js'
import { HttpError, badRequest } from './http-error.js'
import { checkConfigKey, checkServiceName, isPlainObject, quote, requireObject } from './validation.js'

/** Resources one stream may carry; more get 400 `too_many_resources` (never a silent drop). */
export const MAX_WATCH_RESOURCES = 10_000
export const DEFAULT_KEEP_ALIVE_MS = 5_000
export const MIN_KEEP_ALIVE_MS = 100
export const MAX_KEEP_ALIVE_MS = 60_000

export type MuxResourceKind = 'service' | 'config'

export interface MuxResource {
  readonly kind: MuxResourceKind
  /** The service name or config key. */
  readonly name: string
  /** The index the client holds; 0n: it holds nothing yet. */
  readonly index: bigint
}

export interface MuxRequest {
  readonly resources: readonly MuxResource[]
  readonly keepAliveMs: number
}

export function parseMuxRequest(body: unknown): MuxRequest {
  const o = requireObject(body, 'the watch body')
  const list = o['resources']
  if (!Array.isArray(list)) throw badRequest(`"resources" must be an array, not ${quote(list)}`)
  if (list.length > MAX_WATCH_RESOURCES) {
    throw new HttpError(400, 'too_many_resources', `${list.length} resources in one watch, over the limit of ${MAX_WATCH_RESOURCES}`, {
      extra: { limit: String(MAX_WATCH_RESOURCES) },
    })
  }
  const seen = new Set<string>()
  const resources = list.map((item: unknown, i) => {
    const resource = parseResource(item, i)
    const id = `${resource.kind}:${resource.name}`
    if (seen.has(id)) throw badRequest(`resources[${i}] repeats ${resource.kind} ${JSON.stringify(resource.name)}`)
    seen.add(id)
    return resource
  })
  return { resources, keepAliveMs: parseKeepAlive(o['keepAliveMs']) }
}

function parseResource(item: unknown, i: number): MuxResource {
  if (!isPlainObject(item)) throw badRequest(`resources[${i}] must be an object, not ${quote(item)}`)
  const hasService = Object.hasOwn(item, 'service')
  if (hasService === Object.hasOwn(item, 'config')) throw badRequest(`resources[${i}] needs exactly one of "service" and "config"`)
  const name = hasService ? item['service'] : item['config']
  if (typeof name !== 'string') throw badRequest(`resources[${i}] names must be strings, not ${quote(name)}`)
  const index = item['index']
  if (index !== undefined && typeof index !== 'string') throw badRequest(`resources[${i}].index must be a decimal string, not ${quote(index)}`)
  return hasService
    ? { kind: 'service', name: checkServiceName(name), index: parseIndex(index) }
    : { kind: 'config', name: checkConfigKey(name), index: parseIndex(index) }
}

function parseKeepAlive(value: unknown): number {
  if (value === undefined) return DEFAULT_KEEP_ALIVE_MS
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_KEEP_ALIVE_MS || value > MAX_KEEP_ALIVE_MS) {
    throw badRequest(`keepAliveMs must be an integer in [${MIN_KEEP_ALIVE_MS}, ${MAX_KEEP_ALIVE_MS}], not ${quote(value)}`)
  }
  return value
}

/** Protocol v1 sections 6-8 (config, metrics, health) served from a test registry. */
import { ConflictError } from '../../errors.js'
import { parseBlocking, parseIfVersion, queryParam } from '../../server/blocking.js'
import { badRequest, notFound } from '../../server/http-error.js'
import { parseBatch } from '../../server/metrics-validation.js'
import { checkConfigKey, requireObject } from '../../server/validation.js'
import type { ConfigEntry } from '../../types.js'
import { configAnswer, json } from './answers.js'
import { hold } from './hold.js'
import type { RouteContext } from './registry-routes.js'

export async function readConfig(ctx: RouteContext, rawKey: string): Promise<Response> {
  const { registry, signal } = ctx
  const key = checkConfigKey(rawKey)
  const { index, waitMs } = parseBlocking(ctx.url.searchParams)
  if (index === 0n) {
    const entry = await registry.getConfig(key, { signal })
    return configAnswer(key, entry, registry.configRevision(key))
  }
  const outcome = await hold<ConfigEntry | undefined>((w) => registry.watchConfig(key, w, { afterRevision: String(index) }), waitMs, signal)
  if (outcome.kind === 'failed') throw outcome.error
  if (outcome.kind === 'changed') return configAnswer(key, outcome.value, outcome.revision)
  return configAnswer(key, registry.peekConfig(key), registry.configRevision(key))
}

export async function writeConfig(ctx: RouteContext, rawKey: string): Promise<Response> {
  const key = checkConfigKey(rawKey)
  const body = requireObject(ctx.body, 'the config body')
  if (!('value' in body)) throw badRequest('value is required (null is a value)')
  const raw = body['ifVersion']
  if (raw !== undefined && typeof raw !== 'string') throw badRequest('ifVersion must be a decimal string')
  const ifVersion = parseIfVersion(raw)
  const entry = await ctx.registry.putConfig(key, body['value'], ifVersion === undefined ? {} : { ifVersion: String(ifVersion) }, { signal: ctx.signal })
  return json(200, { key, value: entry.value, version: entry.version, index: ctx.registry.configRevision(key) })
}

export async function deleteConfig(ctx: RouteContext, rawKey: string): Promise<Response> {
  const key = checkConfigKey(rawKey)
  const ifVersion = parseIfVersion(queryParam(ctx.url.searchParams, 'ifVersion'))
  const options = ifVersion === undefined ? {} : { ifVersion: String(ifVersion) }
  let deleted: boolean
  try {
    deleted = await ctx.registry.deleteConfig(key, options, { signal: ctx.signal })
  } catch (error) {
    // A missing key is a 404 whatever ifVersion says (section 6).
    if (error instanceof ConflictError && error.details?.['currentVersion'] === '0') deleted = false
    else throw error
  }
  if (!deleted) throw notFound(`no config key ${key}`)
  return json(200, { deleted: true, index: ctx.registry.configRevision(key) })
}

export function listConfig(ctx: RouteContext): Response {
  const keys = ctx.registry.configEntries().map(({ key, version }) => ({ key, version }))
  return json(200, { keys, index: ctx.registry.revision() })
}

export async function pushMetrics(ctx: RouteContext): Promise<Response> {
  const batch = parseBatch(ctx.body)
  const duplicate = ctx.registry.metricBatches.some((b) => b.batchId === batch.batchId)
  await ctx.registry.createMetricSink().export(batch, { signal: ctx.signal })
  return duplicate ? json(200, { accepted: 0, duplicate: true }) : json(202, { accepted: batch.points.length })
}

export function health(ctx: RouteContext): Response {
  return json(200, { status: 'ok', index: ctx.registry.revision() })
}

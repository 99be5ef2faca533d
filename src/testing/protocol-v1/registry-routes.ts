/** Protocol v1 section 5 (registry) served from a test registry; every call goes through its faults and records. */
import { parseBlocking } from '../../server/blocking.js'
import { checkInstanceId, checkServiceName, isPlainObject, parseRegistration } from '../../server/validation.js'
import { badRequest, notFound } from '../../server/http-error.js'
import type { ServiceSnapshot } from '../../types.js'
import type { TestRegistry } from '../test-registry.js'
import { instanceJson, json, serviceAnswer } from './answers.js'
import { hold } from './hold.js'

export interface RouteContext {
  readonly registry: TestRegistry
  readonly request: Request
  readonly url: URL
  /** The request's own signal combined with the registry's closing. */
  readonly signal: AbortSignal
  /** The JSON body, or undefined when there was none. */
  readonly body: unknown
}

export async function listInstances(ctx: RouteContext, rawService: string): Promise<Response> {
  const { registry, signal } = ctx
  const service = checkServiceName(rawService)
  const { index, waitMs } = parseBlocking(ctx.url.searchParams)
  const held = (id: string) => registry.held(service, id)
  if (index === 0n) return serviceAnswer(await registry.resolve(service, { signal }), held)
  const outcome = await hold<ServiceSnapshot>((w) => registry.watchService(service, w, { afterRevision: String(index) }), waitMs, signal)
  if (outcome.kind === 'failed') throw outcome.error
  return serviceAnswer(outcome.kind === 'changed' ? outcome.value : registry.peekService(service), held)
}

export async function register(ctx: RouteContext, rawService: string, rawId: string): Promise<Response> {
  const service = checkServiceName(rawService)
  const id = checkInstanceId(rawId)
  const { ttlMs, ...fields } = parseRegistration(ctx.body)
  await ctx.registry.register({ id, service, ...fields, ttlMs }, { signal: ctx.signal })
  const held = ctx.registry.held(service, id)
  if (!held) throw notFound(`instance ${service}/${id} expired at once`)
  return json(200, { instance: instanceJson(held), ttlMs, index: ctx.registry.serviceRevision(service) })
}

export async function heartbeat(ctx: RouteContext, rawService: string, rawId: string): Promise<Response> {
  const service = checkServiceName(rawService)
  const id = checkInstanceId(rawId)
  if (ctx.body !== undefined && !isPlainObject(ctx.body)) throw badRequest('a heartbeat body must be a JSON object')
  const ttlMs = ctx.registry.held(service, id)?.ttlMs ?? 15_000
  const renewed = await ctx.registry.renew({ id, service, instanceId: id, ttlMs }, { signal: ctx.signal })
  return json(200, { ttlMs: renewed.ttlMs })
}

export async function deregister(ctx: RouteContext, rawService: string, rawId: string): Promise<Response> {
  const service = checkServiceName(rawService)
  const id = checkInstanceId(rawId)
  const removed = ctx.registry.held(service, id) !== undefined
  await ctx.registry.deregister({ id, service, instanceId: id, ttlMs: 0 }, { signal: ctx.signal })
  return json(200, { removed, index: ctx.registry.serviceRevision(service) })
}

export function listServices(ctx: RouteContext): Response {
  const services = ctx.registry.services().map((name) => ({ name, instances: ctx.registry.instances(name).length }))
  return json(200, { services, index: ctx.registry.revision() })
}

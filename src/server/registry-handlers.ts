/** Routes of protocol section 5: register, heartbeat, deregister, list. */
import { parseBlocking } from './blocking.js'
import { SERVICES_RESOURCE, holdWhileCurrent, serviceResource, type Handler, type ServerState } from './handler.js'
import { badRequest, notFound } from './http-error.js'
import { jsonAnswer } from './respond.js'
import { checkInstanceId, checkServiceName, isPlainObject, parseRegistration, quote } from './validation.js'

export function registryHandlers(state: ServerState): Record<'listServices' | 'listInstances' | 'register' | 'heartbeat' | 'deregister', Handler> {
  const { registry } = state
  return {
    // Blocking too (a reference-server addition), so a console can follow every service with one request.
    listServices: async (ctx) => {
      await holdWhileCurrent(state, SERVICES_RESOURCE, () => registry.index, parseBlocking(ctx.query), ctx)
      return jsonAnswer(200, { services: registry.services(), index: registry.index.toString() })
    },

    listInstances: async (ctx) => {
      const service = checkServiceName(ctx.params['service']!)
      const blocking = parseBlocking(ctx.query)
      await holdWhileCurrent(state, serviceResource(service), () => registry.serviceIndex(service), blocking, ctx)
      const { body, index } = registry.listAnswer(service)
      return { status: 200, text: body, index: index.toString() }
    },

    register: ({ params, body }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      const spec = parseRegistration(body)
      const { instance, index } = registry.upsert(service, id, spec)
      return jsonAnswer(200, { instance, ttlMs: instance.ttlMs, index: index.toString() })
    },

    heartbeat: ({ params, body }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      if (body !== undefined && !isPlainObject(body)) throw badRequest(`a heartbeat body must be empty or {}, not ${quote(body)}`)
      const renewed = registry.renew(service, id)
      if (!renewed) throw notFound(`instance ${JSON.stringify(id)} of service ${JSON.stringify(service)} is not registered`)
      // The override tells the instance's client that an operator has taken over its status/weight.
      return jsonAnswer(200, renewed.override === undefined ? { ttlMs: renewed.ttlMs } : { ttlMs: renewed.ttlMs, override: renewed.override })
    },

    deregister: ({ params }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      const { removed, index } = registry.remove(service, id)
      return jsonAnswer(200, { removed, index: index.toString() })
    },
  }
}

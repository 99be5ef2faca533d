/** Routes of protocol section 5 over a store: register, heartbeat, deregister, list (blocking). */
import { badRequest, notFound } from '../http-error.js'
import { checkInstanceId, checkServiceName, isPlainObject, parseRegistration, quote } from '../validation.js'
import { jsonAnswer } from './answer.js'
import { holdWhileCurrent } from './blocking-read.js'
import type { Handler } from './request.js'
import { andThen, type ProtocolStore } from './store.js'

const SERVICES = { kind: 'services' } as const

export function registryRoutes(store: ProtocolStore): Record<'listServices' | 'listInstances' | 'register' | 'heartbeat' | 'deregister', Handler> {
  return {
    // Blocking too where the store can hold it (a reference-server addition), so a console can follow every service with one request.
    listServices: async ({ request }) => {
      await holdWhileCurrent(store, SERVICES, request)
      const { services, index } = await store.listServices(request)
      return jsonAnswer(200, { services, index: index.toString() })
    },

    listInstances: async ({ params, request }) => {
      const service = checkServiceName(params['service']!)
      const held = await holdWhileCurrent(store, { kind: 'service', service }, request)
      const { json, index } = await store.listInstances(service, request, held)
      return { status: 200, text: json, index: index.toString() }
    },

    register: ({ params, body, request }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      const spec = parseRegistration(body)
      return andThen(store.register(service, id, spec, request), ({ instance, index }) =>
        jsonAnswer(200, { instance, ttlMs: instance.ttlMs, index: index.toString() }),
      )
    },

    heartbeat: ({ params, body, request }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      if (body !== undefined && !isPlainObject(body)) throw badRequest(`a heartbeat body must be empty or {}, not ${quote(body)}`)
      return andThen(store.renew(service, id, request), (renewed) => {
        if (!renewed) throw notFound(`instance ${JSON.stringify(id)} of service ${JSON.stringify(service)} is not registered`)
        // The override tells the instance's client that an operator has taken over its status/weight.
        return jsonAnswer(200, renewed.override === undefined ? { ttlMs: renewed.ttlMs } : { ttlMs: renewed.ttlMs, override: renewed.override })
      })
    },

    deregister: ({ params, request }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      return andThen(store.deregister(service, id, request), ({ removed, index }) => jsonAnswer(200, { removed, index: index.toString() }))
    },
  }
}

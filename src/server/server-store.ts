/**
 * The reference server's stores (registry, config, metrics, the waiter hub) as the
 * ProtocolStore that protocol v1's routes run over. Everything answers at once but config
 * writes and held queries, so registrations and heartbeats stay on the turn they arrived in.
 */
import { SERVICES_RESOURCE, configResource, serviceResource, type ServerState } from './handler.js'
import { limitExceeded } from './http-error.js'
import type { Caller, ProtocolStore, Resource } from './protocol/store.js'

/** The key of a resource in the waiter hub. */
export function resourceKey(resource: Resource): string {
  return resource.kind === 'service' ? serviceResource(resource.service) : resource.kind === 'config' ? configResource(resource.key) : SERVICES_RESOURCE
}

export function createServerStore(state: ServerState, health: () => Readonly<Record<string, unknown>>): ProtocolStore {
  const { registry, config, metrics, hub } = state
  // Who wrote a version, as history shows it: the client address, and whether a write token was used.
  const writerOf = (caller: Caller): string => (state.authEnabled ? `${caller.client} (write token)` : caller.client)
  return {
    resourceIndex: (resource) =>
      resource.kind === 'service' ? registry.serviceIndex(resource.service) : resource.kind === 'config' ? config.keyIndex(resource.key) : registry.index,
    waitForChange: (resource, _index, waitMs, caller) => hub.wait(resourceKey(resource), waitMs, caller.signal, caller.client),

    listInstances: (service) => {
      const { body, index } = registry.listAnswer(service)
      return { json: body, index }
    },
    listServices: () => ({ services: registry.services(), index: registry.index }),
    register: (service, id, spec) => registry.upsert(service, id, spec),
    renew: (service, id) => registry.renew(service, id),
    deregister: (service, id) => registry.remove(service, id),

    listConfig: () => ({ keys: config.list().map((e) => ({ key: e.key, version: e.version.toString() })), index: config.index }),
    getConfig: (key) => {
      const entry = config.get(key)
      return { entry: entry && { json: entry.json, version: entry.version.toString() }, index: config.keyIndex(key) }
    },
    putConfig: async (key, { json }, ifVersion, caller) => {
      const bytes = Buffer.byteLength(json)
      const max = state.limits.maxValueBytes
      if (bytes > max) {
        state.stats.refuse('valueBytesRefused', 'config value over maxValueBytes refused', { bytes })
        throw limitExceeded('maxValueBytes', `the value is ${bytes} bytes of JSON, over the ${max}-byte limit`, 413)
      }
      const version = await config.put(key, json, ifVersion, writerOf(caller))
      return { version: version.toString(), index: version }
    },
    deleteConfig: (key, ifVersion, caller) => config.delete(key, ifVersion, writerOf(caller)),

    pushMetrics: (batch) => metrics.push(batch),
    health,
  }
}

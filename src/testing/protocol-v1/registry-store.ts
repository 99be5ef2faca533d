/**
 * A test registry as the ProtocolStore behind protocol v1's routes, so msw handlers and
 * the loopback test server answer through the reference server's own routes, validation
 * and blocking rules. Every call goes through the registry's faults and records; a held
 * query waits on the registry's change feed (and meets its watch faults), then answers the
 * state as it is, without a new recorded read. The registry has no metrics query, no
 * history and no overrides; its service list does not block.
 */
import { ConflictError } from '../../errors.js'
import { notFound } from '../../server/http-error.js'
import { configKeyMissing } from '../../server/protocol/config-routes.js'
import type { Caller, ProtocolStore, Resource } from '../../server/protocol/store.js'
import type { HeldInstance } from '../memory-types.js'
import type { TestRegistry } from '../test-registry.js'
import { hold } from './hold.js'

/** A lease length for instances the test added without one, so that answers stay valid. */
const UNLEASED_TTL_MS = 15_000

function instanceJson(held: HeldInstance): Record<string, unknown> & { ttlMs: number } {
  return { ...held.instance, ttlMs: held.ttlMs ?? UNLEASED_TTL_MS, registeredAt: held.registeredAt, renewedAt: held.renewedAt }
}

const call = (caller: Caller) => ({ signal: caller.signal })
const versionOption = (ifVersion: bigint | undefined) => (ifVersion === undefined ? {} : { ifVersion: String(ifVersion) })

export function registryProtocolStore(registry: TestRegistry): ProtocolStore {
  const wait = async (resource: Resource, index: bigint, waitMs: number, caller: Caller): Promise<void> => {
    // resourceIndex() keeps queries of the service list (which has no feed) from waiting.
    if (resource.kind === 'services') return
    const afterRevision = String(index)
    const outcome =
      resource.kind === 'service'
        ? await hold((w) => registry.watchService(resource.service, w, { afterRevision }), waitMs, caller.signal)
        : await hold((w) => registry.watchConfig(resource.key, w, { afterRevision }), waitMs, caller.signal)
    if (outcome.kind === 'failed') throw outcome.error
  }
  return {
    resourceIndex: (resource) =>
      resource.kind === 'service' ? BigInt(registry.serviceRevision(resource.service)) : resource.kind === 'config' ? BigInt(registry.configRevision(resource.key)) : undefined,
    waitForChange: wait,

    listInstances: async (service, caller, held) => {
      const snapshot = held ? registry.peekService(service) : await registry.resolve(service, call(caller))
      const instances = snapshot.instances.map((i) => {
        const h = registry.held(service, i.id)
        return h ? instanceJson(h) : { ...i, ttlMs: UNLEASED_TTL_MS }
      })
      return { json: JSON.stringify({ service: snapshot.service, instances, index: snapshot.revision }), index: BigInt(snapshot.revision) }
    },
    listServices: () => ({
      services: registry.services().map((name) => ({ name, instances: registry.instances(name).length })),
      index: BigInt(registry.revision()),
    }),
    register: async (service, id, spec, caller) => {
      const { ttlMs, ...fields } = spec
      await registry.register({ id, service, ...fields, ttlMs }, call(caller))
      const held = registry.held(service, id)
      if (!held) throw notFound(`instance ${service}/${id} expired at once`)
      return { instance: instanceJson(held), index: BigInt(registry.serviceRevision(service)) }
    },
    // A lease the registry does not hold is its LeaseLostError, answered 404 by failureAnswer.
    renew: async (service, id, caller) => {
      const ttlMs = registry.held(service, id)?.ttlMs ?? UNLEASED_TTL_MS
      const renewed = await registry.renew({ id, service, instanceId: id, ttlMs }, call(caller))
      return { ttlMs: renewed.ttlMs }
    },
    deregister: async (service, id, caller) => {
      const removed = registry.held(service, id) !== undefined
      await registry.deregister({ id, service, instanceId: id, ttlMs: 0 }, call(caller))
      return { removed, index: BigInt(registry.serviceRevision(service)) }
    },

    listConfig: () => ({ keys: registry.configEntries().map(({ key, version }) => ({ key, version })), index: BigInt(registry.revision()) }),
    getConfig: async (key, caller, held) => {
      const entry = held ? registry.peekConfig(key) : await registry.getConfig(key, call(caller))
      return { entry: entry && { json: JSON.stringify(entry.value), version: entry.version }, index: BigInt(registry.configRevision(key)) }
    },
    putConfig: async (key, { value }, ifVersion, caller) => {
      const entry = await registry.putConfig(key, value, versionOption(ifVersion), call(caller))
      return { version: entry.version, index: BigInt(registry.configRevision(key)) }
    },
    deleteConfig: async (key, ifVersion, caller) => {
      let deleted: boolean
      try {
        deleted = await registry.deleteConfig(key, versionOption(ifVersion), call(caller))
      } catch (error) {
        // A missing key is a 404 whatever ifVersion says (section 6).
        if (error instanceof ConflictError && error.details?.['currentVersion'] === '0') deleted = false
        else throw error
      }
      if (!deleted) throw configKeyMissing(key)
      return BigInt(registry.configRevision(key))
    },

    pushMetrics: async (batch, caller) => {
      const duplicate = registry.metricBatches.some((b) => b.batchId === batch.batchId)
      await registry.createMetricSink().export(batch, call(caller))
      return !duplicate
    },
    health: () => ({ index: registry.revision() }),
  }
}

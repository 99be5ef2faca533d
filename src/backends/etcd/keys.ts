/**
 * The key layout under the backend's prefix (default `/governance`):
 *
 *   <prefix>/services/<service>/<instanceId>   JSON instance, attached to the instance's lease
 *   <prefix>/config/<key>                      JSON `{ "value": … }`; version = mod_revision
 *
 * Names are checked against the same rules as protocol v1, which exclude `/`: a service
 * prefix can then never match another service's keys (`a/` does not select `ab/…`).
 */
import { InvalidArgumentError } from '../../errors.js'
import { describe } from './codec.js'
import { CONFIG_KEY_PATTERN as CONFIG_KEY, INSTANCE_ID_PATTERN as INSTANCE_ID, SERVICE_NAME_PATTERN as SERVICE } from '../../internal/names.js'


export function checkServiceName(service: unknown, name = 'service'): string {
  if (typeof service !== 'string' || !SERVICE.test(service)) {
    throw new InvalidArgumentError(`${name} must match ${SERVICE.source}, got ${describe(service)}`)
  }
  return service
}

export function checkInstanceId(id: unknown, name = 'instance id'): string {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw new InvalidArgumentError(`${name} must match ${INSTANCE_ID.source}, got ${describe(id)}`)
  }
  return id
}

export function checkConfigKey(key: unknown, name = 'config key'): string {
  if (typeof key !== 'string' || !CONFIG_KEY.test(key)) {
    throw new InvalidArgumentError(`${name} must match ${CONFIG_KEY.source}, got ${describe(key)}`)
  }
  return key
}

export interface KeyLayout {
  readonly prefix: string
  /** `<prefix>/services/`: every service's instances, the range `listServices` reads. */
  readonly allServicesPrefix: string
  /** `<prefix>/services/<service>/`: the range a discovery reads and watches. */
  servicePrefix(service: string): string
  instanceKey(service: string, instanceId: string): string
  configKey(key: string): string
}

/** Validates the prefix (`prefix` option) and builds the layout; a trailing `/` is dropped. */
export function createKeyLayout(prefix: unknown): KeyLayout {
  if (typeof prefix !== 'string' || !/^\/[^\s]*$/.test(prefix) || /\/\/|\0/.test(prefix)) {
    throw new InvalidArgumentError(`prefix must be a key path starting with "/" without spaces or "//", got ${describe(prefix)}`)
  }
  const root = prefix.replace(/\/+$/, '')
  return {
    prefix: root,
    allServicesPrefix: `${root}/services/`,
    servicePrefix: (service) => `${root}/services/${service}/`,
    instanceKey: (service, instanceId) => `${root}/services/${service}/${instanceId}`,
    configKey: (key) => `${root}/config/${key}`,
  }
}

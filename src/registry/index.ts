/** Registration lifecycle: options, the Registration the facade wires in, signal handling. */
export {
  resolveRegistryOptions,
  DEFAULT_DRAIN_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_REGISTER_TIMEOUT_MS,
  DEFAULT_TTL_MS,
  REGISTRY_OPTION_KEYS,
  type HealthCheck,
  type HealthCheckResult,
  type RegistryOptionsInput,
  type ResolvedRegistryOptions,
  type ResolvedServiceOptions,
  type ServiceOptions,
} from './options.js'
export {
  createRegistration,
  type RegisterOptions,
  type Registration,
  type RegistrationCallOptions,
  type RegistrationInternals,
  type RegistrationState,
} from './registration.js'
export { installSignalHandlers, HANDLED_SIGNALS } from './signals.js'
export { advertisedAddress, ADDRESS_ENV_VARS, firstExternalIPv4, firstExternalIPv6, generateInstanceId, type AddressSource, type AdvertisedAddress } from './host.js'
export { createReadinessHandler, isReady, type ReadinessHandler, type ReadinessSource } from './readiness.js'

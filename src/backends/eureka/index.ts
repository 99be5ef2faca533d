/** `governance-client/eureka`: the Eureka backend (REST API, JSON payloads; no config). */
import '../../node-guard.js'
export { eurekaBackend, type EurekaBackend } from './backend.js'
export type { EurekaBackendOptions } from './options.js'
export type { RegistryBaseOptions } from '../registry-common/options.js'

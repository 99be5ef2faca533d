/** `governance-client/eureka`: the Eureka backend (REST API, JSON payloads; no config). */
export { eurekaBackend, type EurekaBackend } from './backend.js'
export type { EurekaBackendOptions } from './options.js'

/** `governance-client/consul`: the Consul backend (agent, health and KV HTTP API). */
export { consulBackend, type ConsulBackend } from './backend.js'
export type { ConsulBackendOptions } from './options.js'

/** `governance-client/consul`: the Consul backend (agent, health and KV HTTP API). */
import '../../node-guard.js'
export { consulBackend, type ConsulBackend } from './backend.js'
export type { ConsulBackendOptions } from './options.js'
export type { RegistryBaseOptions } from '../registry-common/options.js'

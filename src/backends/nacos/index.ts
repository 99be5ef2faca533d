/** `governance-client/nacos`: the Nacos backend (v1 HTTP open API: naming, config, login). */
import '../../node-guard.js'
export { nacosBackend, type NacosBackend } from './backend.js'
export type { NacosBackendOptions } from './options.js'
export type { RegistryBaseOptions } from '../registry-common/options.js'

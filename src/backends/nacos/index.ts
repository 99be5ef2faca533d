/** `governance-client/nacos`: the Nacos backend (v1 HTTP open API: naming, config, login). */
export { nacosBackend, type NacosBackend } from './backend.js'
export type { NacosBackendOptions } from './options.js'

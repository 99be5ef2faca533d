/** `governance-client/etcd`: the etcd v3 backend (JSON gateway). */
import '../../node-guard.js'
export { etcdBackend, type EtcdBackend } from './backend.js'
export type { EtcdBackendOptions } from './options.js'
export type { EtcdCredentials } from './auth.js'

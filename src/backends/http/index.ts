/** `governance-client/http`: the default backend, the project's own protocol v1 (docs/protocol.md). */
import '../../node-guard.js'
export { httpBackend } from './backend.js'
export { DEFAULT_WATCH_WAIT_MS, MAX_WATCH_WAIT_MS, type HttpBackendOptions } from './options.js'
/** HttpBackendOptions.transport accepts one (tests, shared connections). */
export type { Transport } from '../../transport/types.js'

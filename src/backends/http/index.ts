/** The default backend: the project's own protocol v1 (docs/protocol.md). */
export { httpBackend } from './backend.js'
export { DEFAULT_WATCH_WAIT_MS, MAX_WATCH_WAIT_MS, type HttpBackendOptions } from './options.js'

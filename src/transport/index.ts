/** The package's HTTP transport (undici). The only module that imports undici's client. */
export { createTransport, createTransportFor } from './transport.js'
export {
  DEFAULT_CONNECTIONS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY,
} from './options.js'
export type {
  HttpMethod,
  JsonStream,
  RequestOptions,
  RetryPolicy,
  StreamOptions,
  TlsOptions,
  Transport,
  TransportOptions,
  TransportResponse,
} from './types.js'

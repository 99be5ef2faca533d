/** The package version (a test keeps it equal to package.json's). */
export const LIBRARY_VERSION = '0.1.0'

/**
 * Sent as `user-agent` on every request the library makes, so that tracing (e.g.
 * @opentelemetry/instrumentation-undici's ignoreRequestHook) can tell them apart.
 */
export const LIBRARY_USER_AGENT = `governance-client/${LIBRARY_VERSION}`

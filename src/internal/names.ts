/**
 * The name rules of protocol v1 section 3, in one place: the client checks names before
 * sending them, the server before storing them, and the etcd backend before using them in
 * keys, all against the same patterns.
 */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
export const CONFIG_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/
/** Prometheus metric names. */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
/** Prometheus label names (names starting with `__` are reserved on top of this). */
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Options of the config subsystem: defaults and eager validation naming `config.<option>`. */
import { InvalidArgumentError } from '../errors.js'
import { show } from './arguments.js'

export interface ConfigOptions {
  /**
   * How often a watched key is re-read when the backend cannot push (no `watchConfig`).
   * @default 1000
   * @example { config: { pollIntervalMs: 5_000 } }
   */
  readonly pollIntervalMs?: number
  /**
   * Store the last good value of each watched key under `${dataDir}/config/` and serve it
   * when the server is unreachable at a cold start. Needs the client's `dataDir`.
   * @default true
   * @example { dataDir: './gov-data', config: { snapshot: false } }
   */
  readonly snapshot?: boolean
  /**
   * Changes an iterator from `changes()` holds for a slow consumer; when full, the oldest
   * is folded into the next one (its `previous` and `changedKeys` still chain correctly).
   * @default 16
   * @example { config: { changesBufferSize: 1 } }  // latest value only
   */
  readonly changesBufferSize?: number
}

export interface ResolvedConfigOptions {
  readonly pollIntervalMs: number
  readonly snapshot: boolean
  readonly changesBufferSize: number
}

export const DEFAULT_CONFIG_OPTIONS: ResolvedConfigOptions = {
  pollIntervalMs: 1_000,
  snapshot: true,
  changesBufferSize: 16,
}

const KNOWN = new Set(Object.keys(DEFAULT_CONFIG_OPTIONS))

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(`config.${name} must be an integer from ${min} to ${max}, got ${show(value)}`)
  }
  return value
}

export function resolveConfigOptions(raw: ConfigOptions | undefined): ResolvedConfigOptions {
  if (raw === undefined) return DEFAULT_CONFIG_OPTIONS
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`config must be an object, got ${show(raw)}`)
  for (const name of Object.keys(raw)) {
    if (!KNOWN.has(name)) fail(`config.${name} is not an option (known: ${[...KNOWN].join(', ')})`)
  }
  if (raw.snapshot !== undefined && typeof raw.snapshot !== 'boolean') fail(`config.snapshot must be a boolean, got ${show(raw.snapshot)}`)
  return {
    pollIntervalMs: integer('pollIntervalMs', raw.pollIntervalMs, 10, 3_600_000, DEFAULT_CONFIG_OPTIONS.pollIntervalMs),
    snapshot: raw.snapshot ?? DEFAULT_CONFIG_OPTIONS.snapshot,
    changesBufferSize: integer('changesBufferSize', raw.changesBufferSize, 1, 10_000, DEFAULT_CONFIG_OPTIONS.changesBufferSize),
  }
}

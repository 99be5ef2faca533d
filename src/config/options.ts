/** Options of the config subsystem: defaults and eager validation naming `config.<option>`. */
import { bool, count, durationMs, objectOption } from '../internal/options-kit.js'

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

const KNOWN: readonly string[] = Object.keys(DEFAULT_CONFIG_OPTIONS)

export function resolveConfigOptions(raw: ConfigOptions | undefined): ResolvedConfigOptions {
  if (raw === undefined) return DEFAULT_CONFIG_OPTIONS
  const o = objectOption('config', raw, KNOWN)
  return {
    pollIntervalMs: durationMs('config.pollIntervalMs', o.pollIntervalMs, { default: DEFAULT_CONFIG_OPTIONS.pollIntervalMs, min: 10, max: 3_600_000 }),
    snapshot: bool('config.snapshot', o.snapshot, DEFAULT_CONFIG_OPTIONS.snapshot),
    changesBufferSize: count('config.changesBufferSize', o.changesBufferSize, { default: DEFAULT_CONFIG_OPTIONS.changesBufferSize, min: 1, max: 10_000 }),
  }
}

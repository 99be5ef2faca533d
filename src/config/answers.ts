/**
 * Guards on what a backend hands the config core, and the one way failures leave it. A
 * backend should already turn a malformed server answer into a ProtocolError; this keeps
 * a buggy third-party backend from passing `undefined` versions into version ordering.
 */
import { ProtocolError, toGovernanceError } from '../errors.js'
import type { SubsystemContext } from '../internal/context.js'
import { isRevision, type ConfigEntry } from '../types.js'

export function checkEntry(key: string, entry: unknown): ConfigEntry | undefined {
  if (entry === undefined) return undefined
  const e = entry as Partial<ConfigEntry> | null
  if (typeof entry !== 'object' || e === null || !isRevision(e.version) || !('value' in e) || e.value === undefined) {
    throw new ProtocolError(`backend answered a malformed config entry for ${key}`, { details: { key } })
  }
  return entry as ConfigEntry
}

/** A user callback threw: the watch goes on, the failure is logged and emitted. */
export function reportCallbackError(ctx: SubsystemContext, key: string, error: unknown): void {
  const wrapped = toGovernanceError(error, `a config watcher of ${key} threw`)
  ctx.logger.error(wrapped.message, { key })
  ctx.emit('error', wrapped)
}

/** gov.services(): the service names the registry holds, through the optional Backend.listServices. */
import type { Backend } from '../backend.js'
import { NotSupportedError, ProtocolError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import { guardedCall } from '../internal/guarded-call.js'

export interface ServicesOptions {
  readonly signal?: AbortSignal
}

/** Sorted names; NotSupportedError naming the backend when it cannot list, ProtocolError on a bad answer. */
export async function listServices(backend: Backend, timeoutMs: number, signal: AbortSignal | undefined): Promise<string[]> {
  if (typeof backend.listServices !== 'function') {
    throw new NotSupportedError(`services(): the ${backend.name} backend cannot list services (it has no listServices)`, { details: { backend: backend.name } })
  }
  const names: unknown = await guardedCall('listing services', (ctx) => backend.listServices!(ctx), timeoutMs, signal)
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) {
    throw new ProtocolError(`services(): the ${backend.name} backend answered ${describeValue(names)}, not an array of service names`, { details: { backend: backend.name } })
  }
  return [...(names as string[])].sort()
}

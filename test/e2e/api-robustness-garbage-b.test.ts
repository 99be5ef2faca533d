/**
 * A real GovernanceClient against a server that misbehaves on the wire: it never answers,
 * answers several MiB over the client's body cap (streamed, or declared up front), or resets
 * the connection. See api-robustness-garbage.ts for what each run checks.
 */
import { describe, it } from 'vitest'
import { captureProcessFailures } from './api-robustness-helpers.js'
import { runGarbageScenario, type GarbageKind } from './api-robustness-garbage.js'

const failures = captureProcessFailures()

describe('a server misbehaving on the wire', () => {
  it.each<GarbageKind>(['hang', 'oversized-chunked', 'oversized-declared', 'reset'])('%s', (kind) => runGarbageScenario(kind, failures))
})

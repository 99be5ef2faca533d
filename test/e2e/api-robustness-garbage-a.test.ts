/**
 * A real GovernanceClient against a server that answers garbage in the body: bad JSON, an
 * HTML 500, JSON of the wrong shape, the right shape with wrong field types. See
 * api-robustness-garbage.ts for what each run checks.
 */
import { describe, it } from 'vitest'
import { captureProcessFailures } from './api-robustness-helpers.js'
import { runGarbageScenario, type GarbageKind } from './api-robustness-garbage.js'

const failures = captureProcessFailures()

describe('a server answering garbage in the body', () => {
  it.each<GarbageKind>(['bad-json', 'html-500', 'wrong-shape', 'wrong-types'])('%s', (kind) => runGarbageScenario(kind, failures))
})

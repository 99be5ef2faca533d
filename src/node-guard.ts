/**
 * Imported first by every entry point, so that an import on a too old Node fails at once
 * with one clear error instead of a TypeError from undici. The error's stack is its message
 * alone: the location inside this package would only bury the one line that matters.
 */
import { NotSupportedError } from './errors.js'
import { nodeVersionProblem } from './internal/node-version.js'

const problem = nodeVersionProblem()
if (problem !== undefined) {
  const error = new NotSupportedError(problem, { details: { node: process.versions.node } })
  error.stack = `${error.name}: ${problem}`
  throw error
}

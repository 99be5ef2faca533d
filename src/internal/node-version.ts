/**
 * The Node.js version the package needs, checked before anything else loads: on an older
 * Node the first sign would otherwise be a bare TypeError from deep inside undici.
 * Keep MIN_NODE in step with `engines.node` in package.json.
 */
export const MIN_NODE = { major: 22, minor: 19 } as const

/** One line saying what is wrong, or undefined when this Node is new enough. */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10))
  if (major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor)) return undefined
  return `governance-client requires Node.js >= ${MIN_NODE.major}.${MIN_NODE.minor}, but this is Node.js v${version}; upgrade Node (see "engines" in its package.json)`
}

/** For the bins: on a too old Node, print the one line and exit 1. */
export function exitIfNodeTooOld(): void {
  const problem = nodeVersionProblem()
  if (problem === undefined) return
  process.stderr.write(`${problem}\n`)
  process.exit(1)
}

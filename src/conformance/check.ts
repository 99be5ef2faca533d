/** What a conformance check is. */
import type { ConformanceContext } from './http.js'

export interface ConformanceCheck {
  /** `area: behaviour`, e.g. `config: ifVersion mismatch answers 409 with currentVersion`. */
  readonly name: string
  /** Tokens the check needs; it is skipped when the context does not have them. */
  readonly requires?: readonly ('token' | 'readToken')[]
  /** Resolves when the server behaves; throws an Error saying what it did instead. */
  run(ctx: ConformanceContext): Promise<void>
}

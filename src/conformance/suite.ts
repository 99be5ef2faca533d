/**
 * The protocol v1 conformance suite: checks a server by URL against docs/protocol.md.
 * It speaks raw HTTP (undici's `request`), not through the client, and uses unique random
 * names, so it can run against a shared server.
 */
import { authChecks } from './auth-checks.js'
import { blockingChecks } from './blocking-checks.js'
import type { ConformanceCheck } from './check.js'
import { configChecks } from './config-checks.js'
import { CheckSkipped } from './expect.js'
import type { ConformanceContext } from './http.js'
import { httpChecks } from './http-checks.js'
import { metricsChecks } from './metrics-checks.js'
import { registryChecks } from './registry-checks.js'
import { watchMuxChecks } from './watch-mux-checks.js'

export type { ConformanceCheck } from './check.js'
export type { ConformanceContext } from './http.js'

export const conformanceChecks: readonly ConformanceCheck[] = [
  ...httpChecks,
  ...registryChecks,
  ...blockingChecks,
  ...configChecks,
  ...metricsChecks,
  ...authChecks,
  ...watchMuxChecks,
]

export interface ConformanceOptions extends ConformanceContext {
  /** Only checks whose name contains this text. */
  readonly filter?: string
  /** Checks run at once; default 4 (the timing checks allow for it). */
  readonly concurrency?: number
  /** Called as each check finishes, in completion order. */
  readonly onResult?: (result: ConformanceResult) => void
}

export interface ConformanceResult {
  readonly name: string
  readonly ok: boolean
  /** Set when the check was not run because the context lacks a token it needs. */
  readonly skipped?: string
  readonly error?: string
  readonly ms: number
}

export interface ConformanceReport {
  readonly passed: number
  readonly failed: number
  readonly skipped: number
  /** In suite order. */
  readonly results: ConformanceResult[]
}

/** Why a check cannot run with this context, or undefined when it can. */
export function skipReason(check: ConformanceCheck, ctx: ConformanceContext): string | undefined {
  const missing = (check.requires ?? []).filter((need) => !ctx[need])
  return missing.length === 0 ? undefined : `needs ${missing.map((m) => (m === 'token' ? '--token' : '--read-token')).join(' and ')}`
}

export async function runCheck(check: ConformanceCheck, ctx: ConformanceContext): Promise<ConformanceResult> {
  const skipped = skipReason(check, ctx)
  if (skipped) return { name: check.name, ok: true, skipped, ms: 0 }
  const started = performance.now()
  try {
    await check.run(ctx)
    return { name: check.name, ok: true, ms: performance.now() - started }
  } catch (error) {
    if (error instanceof CheckSkipped) return { name: check.name, ok: true, skipped: error.message, ms: performance.now() - started }
    const message = error instanceof Error ? error.message : String(error)
    return { name: check.name, ok: false, error: message, ms: performance.now() - started }
  }
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const ctx: ConformanceContext = {
    url: options.url,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.readToken === undefined ? {} : { readToken: options.readToken }),
  }
  const checks = conformanceChecks.filter((c) => options.filter === undefined || c.name.includes(options.filter))
  const results: ConformanceResult[] = new Array(checks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < checks.length) {
      const i = next++
      results[i] = await runCheck(checks[i]!, ctx)
      options.onResult?.(results[i])
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker))
  const skipped = results.filter((r) => r.skipped !== undefined).length
  const failed = results.filter((r) => !r.ok).length
  return { passed: results.length - failed - skipped, failed, skipped, results }
}

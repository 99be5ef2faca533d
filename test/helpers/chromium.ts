/**
 * Debian's Chromium driven by playwright-core for the console's browser tests. Nothing is
 * downloaded: playwright-core is given /usr/bin/chromium. Outside CI a missing Chromium
 * skips with a loud line; with CI=true it fails the run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
export const CHROMIUM_INSTALL_HINT = 'apt-get install chromium'

export const chromiumInstalled = (): boolean => existsSync(CHROMIUM_BIN)

/** Whether the browser tests must be skipped here (announced loudly); false in CI. */
export function skipWithoutChromium(what: string): boolean {
  if (chromiumInstalled() || process.env.CI === 'true') return false
  console.warn(`\n*** SKIPPED ${what}: ${CHROMIUM_BIN} is missing (${CHROMIUM_INSTALL_HINT}) ***\n`)
  return true
}

/** Headless Chromium with background networking off and a fresh profile; close() removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!chromiumInstalled()) throw new Error(`${CHROMIUM_BIN} is missing in CI: ${CHROMIUM_INSTALL_HINT} (in .ci/run)`)
  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'gov-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

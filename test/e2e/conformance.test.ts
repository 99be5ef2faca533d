/** The protocol v1 conformance suite against the reference server: each check is a test. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { conformanceChecks, runCheck, runConformance, skipReason, type ConformanceContext } from '../../src/conformance/suite.js'

const TOKEN = 'conformance-write-token'
const READ_TOKEN = 'conformance-read-token'

describe('conformance: reference server without auth', () => {
  let server: GovernanceServer
  let ctx: ConformanceContext
  beforeAll(async () => {
    server = await createGovernanceServer({ port: 0 })
    ctx = { url: server.url }
  })
  afterAll(() => server.close())

  for (const check of conformanceChecks.filter((c) => c.requires === undefined)) {
    it.concurrent(check.name, async () => {
      const result = await runCheck(check, ctx)
      expect(result.error).toBeUndefined()
      expect(result.ok).toBe(true)
    })
  }
})

describe('conformance: reference server with read and write tokens', () => {
  let server: GovernanceServer
  let ctx: ConformanceContext
  beforeAll(async () => {
    server = await createGovernanceServer({ port: 0, token: TOKEN, readToken: READ_TOKEN })
    ctx = { url: server.url, token: TOKEN, readToken: READ_TOKEN }
  })
  afterAll(() => server.close())

  for (const check of conformanceChecks) {
    it.concurrent(check.name, async () => {
      expect(skipReason(check, ctx)).toBeUndefined()
      const result = await runCheck(check, ctx)
      expect(result.error).toBeUndefined()
    })
  }
})

/**
 * What the testing kit's test server does not do, by configuration rather than code: it has
 * no metrics query (`GET /v1/metrics/{service}`), and its fetch adapter sees paths as the
 * WHATWG URL parser leaves them, with `%2e%2e` segments already resolved.
 */
const TEST_SERVER_DIFFERENCES = [/^metrics: (a batch answers 202|counters add up|a repeated batchId|totals sum)/, /^names: names breaking section 3/, /^config: bad bodies, keys and ifVersions/]

describe('conformance: the testing kit over loopback HTTP (the same protocol handler)', () => {
  let server: Awaited<ReturnType<typeof import('../../src/testing/index.js').startTestServer>>
  let ctx: ConformanceContext
  beforeAll(async () => {
    const { startTestServer } = await import('../../src/testing/index.js')
    server = await startTestServer()
    ctx = { url: server.url }
  })
  afterAll(async () => {
    await server.close()
    await server.registry.close()
  })

  const expected = conformanceChecks.filter((c) => c.requires === undefined && !TEST_SERVER_DIFFERENCES.some((d) => d.test(c.name)))
  it('runs every check but the documented differences', () => {
    expect(conformanceChecks.length - expected.length).toBeGreaterThanOrEqual(6)
    expect(expected.length).toBeGreaterThanOrEqual(30)
  })
  for (const check of expected) {
    it.concurrent(check.name, async () => {
      const result = await runCheck(check, ctx)
      expect(result.error).toBeUndefined()
    })
  }
})

describe('conformance: the runner', () => {
  it('fails checks against a server that refuses them, and skips auth checks without tokens', async () => {
    await using server = await createGovernanceServer({ port: 0, token: TOKEN })
    const report = await runConformance({ url: server.url, filter: 'auth:' })
    expect(report.skipped).toBe(report.results.length)
    const wrong = await runConformance({ url: server.url, token: 'not-the-token', filter: 'config:' })
    expect(wrong.failed).toBe(wrong.results.length)
    expect(wrong.passed).toBe(0)
    expect(wrong.results[0]!.error).toMatch(/expected status 200, got 401/)
  })
})

/** Runs `npm run conformance` (src/conformance/cli.ts) directly on this Node. */
async function conformanceCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/conformance/cli.ts', ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

describe('conformance: the CLI', () => {
  it('prints ok lines and the tally, exiting 0; FAIL lines exit 1; bad arguments exit 2', async () => {
    await using server = await createGovernanceServer({ port: 0, token: TOKEN })
    const good = await conformanceCli(['--url', server.url, '--token', TOKEN, '--filter', 'config: every write'])
    expect(good.stdout).toMatch(/^ok config: every write raises the version \(\d+ ms\)\n1 passed, 0 failed\n$/)
    expect(good.code).toBe(0)
    const bad = await conformanceCli(['--url', server.url, '--filter', 'config: every write'])
    expect(bad.stdout).toMatch(/^FAIL config: every write raises the version: PUT \S+: expected status 200, got 401/)
    expect(bad.stdout).toMatch(/\n0 passed, 1 failed\n$/)
    expect(bad.code).toBe(1)
    for (const args of [[], ['--url', 'not a url'], ['--url', server.url, '--bogus']]) {
      const wrong = await conformanceCli(args)
      expect(wrong.code).toBe(2)
      expect(wrong.stderr).toMatch(/conformance: /)
    }
  })
})

describe('conformance: the optional multiplexed watch', () => {
  it('is skipped, not failed, against a server that does not advertise watch-mux', async () => {
    const { startTestServer } = await import('../../src/testing/index.js')
    const server = await startTestServer()
    try {
      const report = await runConformance({ url: server.url, filter: 'watch-mux:' })
      expect(report.results.length).toBeGreaterThanOrEqual(5)
      expect(report.skipped).toBe(report.results.length)
      expect(report.results[0]!.skipped).toMatch(/does not advertise watch-mux/)
    } finally {
      await server.close()
    }
  })
})

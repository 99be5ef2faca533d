import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { nodeVersionProblem } from '../../src/internal/node-version.js'

describe('node version guard', () => {
  it('accepts the engines range and names it for older versions', () => {
    expect(nodeVersionProblem('22.19.0')).toBeUndefined()
    expect(nodeVersionProblem('24.21.0')).toBeUndefined()
    expect(nodeVersionProblem('23.0.0')).toBeUndefined()
    expect(nodeVersionProblem('22.18.9')).toMatch(/requires Node\.js >= 22\.19, but this is Node\.js v22\.18\.9/)
    expect(nodeVersionProblem('20.20.2')).toMatch(/^governance-client requires Node\.js >= 22\.19/)
    expect(nodeVersionProblem('garbage')).toMatch(/requires Node\.js >= 22\.19/)
  })

  it('matches engines.node in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
    expect(pkg.engines.node).toBe('>=22.19')
  })
})

/** Consul's blocking-query rules as a watch step (src/backends/consul/blocking.ts), on scripted answers. */
import { describe, expect, it } from 'vitest'
import { blockingStep, parseConsulIndex, type BlockingAnswer } from '../../src/backends/consul/blocking.js'
import { ProtocolError } from '../../src/errors.js'

function scripted(answers: BlockingAnswer<string[]>[]) {
  const asked: (bigint | undefined)[] = []
  const confirmed: string[] = []
  const step = blockingStep<string[]>(
    'test',
    async (index) => {
      asked.push(index)
      const next = answers.shift()
      if (next === undefined) throw new Error('script ran out')
      return next
    },
    { next: () => {}, error: () => {}, confirmed: (m) => confirmed.push(m.revision) },
  )
  return { step, asked, confirmed }
}

const signal = new AbortController().signal

describe('blockingStep', () => {
  it('delivers changes, confirms same-index and same-data answers, and sends the last index back', async () => {
    const { step, asked, confirmed } = scripted([
      { value: ['a'], index: '10' },
      { value: ['a'], index: '10' },
      { value: ['a'], index: '12' },
      { value: ['a', 'b'], index: '15' },
    ])
    expect(await step(undefined, signal)).toEqual({ value: ['a'], revision: '10', reset: false })
    expect(await step('10', signal)).toBeUndefined()
    expect(await step('10', signal)).toBeUndefined()
    expect(await step('10', signal)).toEqual({ value: ['a', 'b'], revision: '15', reset: false })
    expect(asked).toEqual([undefined, 10n, 10n, 12n])
    expect(confirmed).toEqual(['10', '12'])
  })

  it('an index that goes backwards resets the feed with the answer as a full replacement', async () => {
    const { step, asked } = scripted([
      { value: ['a'], index: '100' },
      { value: ['a'], index: '3' },
      { value: ['a', 'c'], index: '4' },
    ])
    await step(undefined, signal)
    expect(await step('100', signal)).toEqual({ value: ['a'], revision: '3', reset: true })
    expect(await step('3', signal)).toEqual({ value: ['a', 'c'], revision: '4', reset: false })
    expect(asked).toEqual([undefined, 100n, 3n])
  })

  it('an index of 0 is used as 1; a missing or malformed one is a ProtocolError', () => {
    expect(parseConsulIndex('0', 'x')).toBe(1n)
    expect(parseConsulIndex('18446744073709551615', 'x')).toBe(18446744073709551615n)
    expect(() => parseConsulIndex(undefined, 'x')).toThrow(ProtocolError)
    expect(() => parseConsulIndex('-4', 'x')).toThrow(ProtocolError)
  })

  it('resumes after afterRevision without a first unconditional read', async () => {
    const { step, asked } = scripted([{ value: ['z'], index: '41' }])
    expect(await step('40', signal)).toEqual({ value: ['z'], revision: '41', reset: false })
    expect(asked).toEqual([40n])
  })
})

/** docs/discovery.md's consistent-hashing example, run as written. */
import { expect, it } from 'vitest'
import { consistentHash, type Instance } from 'governance-client'

function sessionPicker(instances: readonly Instance[]) {
  const picker = consistentHash().build(instances, { random: Math.random, load: () => ({ inflight: 0, latencyMs: 0 }) })
  return {
    /** The same user always lands on the same instance while the set does not change. */
    home: (userId: string) => picker.pick({ hashKey: `user:${userId}` }),
    /** Where that user's key goes when its home is down: the ring's next owner. */
    fallback: (userId: string, down: string) => picker.pick({ hashKey: `user:${userId}`, exclude: new Set([down]) }),
  }
}

function instance(id: string): Instance {
  return { id, service: 'web', address: '10.0.0.1', port: 8080, status: 'UP', metadata: {}, tags: [], weight: 1 }
}

it('consistent hashing as docs/discovery.md shows it', () => {
  const sessions = sessionPicker(['a', 'b', 'c'].map(instance))
  const home = sessions.home('42')!.id
  for (let i = 0; i < 10; i++) expect(sessions.home('42')!.id).toBe(home)
  const fallback = sessions.fallback('42', home)!.id
  expect(fallback).not.toBe(home)
  // The fallback is the key's owner on the ring without `home`.
  expect(sessionPicker(['a', 'b', 'c'].filter((id) => id !== home).map(instance)).home('42')!.id).toBe(fallback)
})

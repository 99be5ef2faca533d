/**
 * docs/config.md's writing example, run as written against the reference server, with a
 * second writer racing the compare-and-set loop so that the loop's retry is exercised.
 */
import { afterEach, expect, it } from 'vitest'
import { type } from 'arktype'
import { ConflictError, GovernanceClient } from 'governance-client'
import { createGovernanceServer, type GovernanceServer } from 'governance-client/server'

let server: GovernanceServer | undefined
const clients: GovernanceClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await server?.close()
})

it('compare-and-set as docs/config.md shows it', async () => {
  server = await createGovernanceServer({ port: 0 })
  const gov = new GovernanceClient({ server: server.url, logger: false, metrics: false })
  const rival = new GovernanceClient({ server: server.url, logger: false, metrics: false })
  clients.push(gov, rival)
  const Orders = type({ 'maxConnections?': 'number', 'mode?': 'string' })
  // The rival writes once between the example's first read and its write.
  let raced = false
  const get = gov.config.get.bind(gov.config)
  gov.config.get = (async (key: string, options?: object) => {
    const answer = await get(key, options as never)
    if (!raced) {
      raced = true
      await rival.config.put('orders', { maxConnections: 80 })
    }
    return answer
  }) as typeof gov.config.get

  const { version } = await gov.config.put('orders', { maxConnections: 50 })

  // Compare-and-set: read, modify, write back only if nobody wrote in between.
  let latest = version
  for (;;) {
    const cur = await gov.config.get('orders', { schema: Orders })   // Orders: a Standard Schema (zod, valibot, arktype) or a parse function
    try {
      latest = (await gov.config.put('orders', { ...cur?.value, mode: 'safe' }, { ifVersion: cur?.version ?? '0' })).version
      break
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error   // someone else won: read again
    }
  }

  await gov.config.delete('orders', { ifVersion: latest })   // true, or false when it did not exist

  expect(raced).toBe(true)
  expect(await rival.config.get('orders')).toBeUndefined()
})

/**
 * Type tests, checked by `npm run typecheck` (tsc over test/): each `@ts-expect-error` must
 * meet an error, so a type that becomes too loose fails the typecheck. Nothing here runs.
 */
import { type } from 'arktype'
import { GovernanceClient, type ConfigValue, type GovernanceClientOptions } from 'governance-client'
import { createMemoryBackend } from 'governance-client/testing'

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false
const assertType = <T extends true>(_proof?: T): void => {}

export function clientOptions(): void {
  // @ts-expect-error neither `server` nor `backend`: the constructor would throw
  new GovernanceClient({})
  // @ts-expect-error neither, with other options
  new GovernanceClient({ service: { name: 'orders', port: 8080 }, logger: false })
  // @ts-expect-error both `server` and `backend`
  new GovernanceClient({ server: 'http://127.0.0.1:7070', backend: createMemoryBackend() })
  new GovernanceClient({ server: 'http://127.0.0.1:7070' })
  new GovernanceClient({ server: ['http://a:7070', 'http://b:7070'], token: 't' })
  new GovernanceClient({ backend: createMemoryBackend(), service: { name: 'orders', port: 8080 } })
  const built: GovernanceClientOptions = Math.random() > 0.5 ? { server: 'http://x:1' } : { backend: createMemoryBackend() }
  new GovernanceClient(built)
}

export async function arktypeSchemas(gov: GovernanceClient): Promise<void> {
  const Limits = type({ maxOrders: 'number', region: 'string' })
  const got = await gov.config.get('limits', { schema: Limits })
  assertType<Equal<typeof got, ConfigValue<{ maxOrders: number; region: string }> | undefined>>()
  gov.config.watch(
    'limits',
    (value) => {
      assertType<Equal<typeof value, { maxOrders: number; region: string } | undefined>>()
    },
    { schema: Limits },
  )
  for await (const change of gov.config.changes('limits', { schema: Limits })) {
    assertType<Equal<typeof change.value, { maxOrders: number; region: string } | undefined>>()
  }
  // A morph: the output type, not the input, is what the client delivers.
  const Port = type('string.integer.parse')
  const port = await gov.config.get('port', { schema: Port })
  assertType<Equal<typeof port, ConfigValue<number> | undefined>>()
  // A plain parse function still infers its return type.
  const parsed = await gov.config.get('n', { schema: (raw) => Number(raw) })
  assertType<Equal<typeof parsed, ConfigValue<number> | undefined>>()
}

export async function standardSchemaWithoutTypes(gov: GovernanceClient): Promise<void> {
  // A hand-written Standard Schema that declares no `types`: the value type comes from validate.
  const Even = {
    '~standard': {
      version: 1 as const,
      vendor: 'hand',
      validate: (v: unknown) => (typeof v === 'number' && v % 2 === 0 ? { value: v } : { issues: [{ message: 'not even' }] }),
    },
  }
  const even = await gov.config.get('even', { schema: Even })
  assertType<Equal<typeof even, ConfigValue<number> | undefined>>()
}

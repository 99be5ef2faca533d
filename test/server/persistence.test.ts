import { readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GovernanceError } from '../../src/errors.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { IndexCounter } from '../../src/server/index-counter.js'
import { call, errorCode, instanceBody, startServer, tempDir, untilHeld } from './helpers.js'
import { runCli } from './process-helpers.js'

describe('config persistence', () => {
  it('keeps values and versions across a restart; versions and the index never go backwards', async () => {
    const dataDir = await tempDir()
    const first = await createGovernanceServer({ dataDir })
    const a = await call(first.url, 'PUT', '/v1/config/a', { body: { value: { deep: [1, 'x', null] } } })
    await call(first.url, 'PUT', '/v1/config/b', { body: { value: 'gone soon' } })
    const del = await call(first.url, 'DELETE', '/v1/config/b')
    await first.close()

    const second = await startServer({ dataDir })
    const got = await call(second.url, 'GET', '/v1/config/a')
    expect(got.json).toEqual(a.json)
    const list = await call(second.url, 'GET', '/v1/config')
    expect(list.json.keys).toEqual([{ key: 'a', version: a.json.version }])
    expect(BigInt(list.json.index)).toBeGreaterThanOrEqual(BigInt(del.json.index))
    expect((await call(second.url, 'GET', '/v1/config/b')).status).toBe(404)
    const next = await call(second.url, 'PUT', '/v1/config/b', { body: { value: 'back' } })
    expect(BigInt(next.json.version)).toBeGreaterThan(BigInt(del.json.index))
    const cas = await call(second.url, 'PUT', '/v1/config/a', { body: { value: 2, ifVersion: a.json.version } })
    expect(cas.status).toBe(200)
  })

  it('resumes above persisted versions even when they are ahead of the clock', async () => {
    const dataDir = await tempDir()
    const future = (BigInt(Date.now()) * 1_000_000n).toString()
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ format: 'governance-config/1', index: future, entries: [{ key: 'k', version: future, json: '{"a":1}' }] }),
    )
    const s = await startServer({ dataDir })
    expect((await call(s.url, 'GET', '/v1/config/k')).json).toEqual({ key: 'k', value: { a: 1 }, version: future, index: future })
    const next = await call(s.url, 'PUT', '/v1/services/x/instances/1', { body: instanceBody() })
    expect(BigInt(next.json.index)).toBeGreaterThan(BigInt(future))
  })

  it('refuses to start on a config file it cannot read, naming the file', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'config.json'), '{"format":"something else"}')
    const failure = createGovernanceServer({ dataDir })
    await expect(failure).rejects.toBeInstanceOf(GovernanceError)
    await expect(failure).rejects.toThrow(/config\.json is not a governance config file/)
  })

  it('moves a governance-config/1 config.json into per-key files', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ format: 'governance-config/1', index: '50', entries: [{ key: 'k', version: '40', json: '[1]' }] }))
    const first = await createGovernanceServer({ dataDir })
    expect((await call(first.url, 'GET', '/v1/config/k')).json).toMatchObject({ value: [1], version: '40' })
    await first.close()
    await expect(readdir(dataDir)).resolves.not.toContain('config.json')
    const second = await startServer({ dataDir })
    expect((await call(second.url, 'GET', '/v1/config/k')).json.value).toEqual([1])
  })

  it('names the key file at fault when one is corrupt', async () => {
    const dataDir = await tempDir()
    const first = await createGovernanceServer({ dataDir })
    await call(first.url, 'PUT', '/v1/config/k', { body: { value: 1 } })
    await first.close()
    const [name] = (await readdir(join(dataDir, 'config'))).filter((n) => n.endsWith('.json'))
    await writeFile(join(dataDir, 'config', name!), '{"truncated')
    await expect(createGovernanceServer({ dataDir })).rejects.toThrow(new RegExp(`${name}.* is not a governance config key file`))
  })

  it('answers 500 internal and changes nothing when the config cannot be written', async () => {
    const dataDir = await tempDir()
    const s = await startServer({ dataDir: join(dataDir, 'sub') })
    expect((await call(s.url, 'PUT', '/v1/config/k', { body: { value: 1 } })).status).toBe(200)
    await rm(join(dataDir, 'sub'), { recursive: true })
    await writeFile(join(dataDir, 'sub'), 'not a directory')
    const r = await call(s.url, 'PUT', '/v1/config/k', { body: { value: 2 } })
    expect(r.status).toBe(500)
    expect(errorCode(r)).toBe('internal')
    expect((await call(s.url, 'GET', '/v1/config/k')).json.value).toBe(1)
    expect((await call(s.url, 'GET', '/v1/health')).status).toBe(200)
  })
})

describe('indexes across restarts', () => {
  it('are not reused by a restarted in-memory server, even after a burst of changes', async () => {
    const first = await createGovernanceServer()
    let last = 0n
    for (let i = 0; i < 200; i++) last = BigInt((await call(first.url, 'PUT', `/v1/services/a/instances/${i}`, { body: instanceBody() })).json.index)
    await first.close()
    const second = await startServer()
    expect((await call(second.url, 'GET', '/v1/services/a')).json.index).toBe('1')
    const again = await call(second.url, 'PUT', '/v1/services/a/instances/0', { body: instanceBody() })
    expect(BigInt(again.json.index)).toBeGreaterThan(last)
  })

  it('start at the clock in microseconds, or above a higher persisted index', () => {
    expect(new IndexCounter(0n, 5).next()).toBe(5_001n)
    expect(new IndexCounter(9_000n, 5).next()).toBe(9_001n)
    expect(new IndexCounter(0n, 0).current()).toBe(1n)
  })
})

describe('the governance-server CLI', () => {
  it('survives SIGKILL right after a write is answered', async () => {
    const dataDir = await tempDir()
    const first = runCli(['--port', '0', '--data-dir', dataDir])
    const url = await first.url
    const written = []
    for (let i = 0; i < 5; i++) written.push(await call(url, 'PUT', `/v1/config/k${i}`, { body: { value: { i } } }))
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')

    const second = runCli(['--port', '0', '--data-dir', dataDir])
    const url2 = await second.url
    for (let i = 0; i < 5; i++) {
      const got = await call(url2, 'GET', `/v1/config/k${i}`)
      expect(got.json).toEqual(written[i]!.json)
    }
    const after = await call(url2, 'PUT', '/v1/config/k4', { body: { value: 'new', ifVersion: written[4]!.json.version } })
    expect(after.status).toBe(200)
    expect(BigInt(after.json.version)).toBeGreaterThan(BigInt(written[4]!.json.version))
  })

  it('on SIGTERM answers the held query with the current state and exits 0', async () => {
    const cli = runCli(['--port', '0', '--token', 'tok'])
    const url = await cli.url
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/)
    const reg = await call(url, 'PUT', '/v1/services/a/instances/1', { token: 'tok', body: instanceBody() })
    const held = call(url, 'GET', `/v1/services/a?index=${reg.json.index}&wait=5m`, { token: 'tok' })
    await untilHeld(url, 1)
    cli.child.kill('SIGTERM')
    const answer = await held
    expect(answer.status).toBe(200)
    expect(answer.json.index).toBe(reg.json.index)
    expect(answer.json.instances).toHaveLength(1)
    expect(await cli.exited).toBe(0)
    expect(cli.stdout()).toBe(`governance-server listening on ${url}\n`)
  })

  it('takes tokens from the environment', async () => {
    const cli = runCli(['--port', '0'], { GOVERNANCE_TOKEN: 'env-token' })
    const url = await cli.url
    expect((await call(url, 'GET', '/v1/config')).status).toBe(401)
    expect((await call(url, 'GET', '/v1/config', { token: 'env-token' })).status).toBe(200)
  })

  it.each([[['--port', 'abc']], [['--port', '70000']], [['--nope']], [['positional']], [['--token', 'a b']], [['--history-resolution', 'abc']], [['--history-resolution', '5']], [['--history-duration', '-1']]])('exits 2 on bad arguments %j', async (args) => {
    const cli = runCli(args)
    expect(await cli.exited).toBe(2)
    expect(cli.stderr()).toMatch(/governance-server: .+/)
    expect(cli.stdout()).toBe('')
  })

  it.each([
    [['--port', '08080'], {}, /--port must be an integer/],
    [[], { GOVERNANCE_PORT: 'abc' }, /GOVERNANCE_PORT must be an integer/],
    [['--read-token', 'r'], {}, /--read-token needs --token/],
    [['--max-connections', '0'], {}, /--max-connections must be an integer/],
  ])('names what was wrong in CLI words: %j %j', async (args, env, message) => {
    const cli = runCli(args, env)
    expect(await cli.exited).toBe(2)
    expect(cli.stderr()).toMatch(message)
  })

  it('prints its version', async () => {
    const cli = runCli(['--version'])
    expect(await cli.exited).toBe(0)
    expect(cli.stdout()).toMatch(/^governance-server \d+\.\d+\.\d+/)
  })

  it('finds an unwritable data dir at start and exits 1, without hanging on /proc', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'a-file'), 'x')
    for (const dataDir of [join(dir, 'a-file'), '/proc/governance-test']) {
      const cli = runCli(['--port', '0', '--data-dir', dataDir])
      expect(await cli.exited).toBe(1)
      expect(cli.stderr()).toContain(dataDir)
    }
  })

  it('prints help and exits 0', async () => {
    const cli = runCli(['--help'])
    expect(await cli.exited).toBe(0)
    expect(cli.stdout()).toMatch(/--data-dir/)
    expect(cli.stdout()).toMatch(/--history-resolution/)
  })
})

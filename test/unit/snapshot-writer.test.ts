/** The one coalescing disk writer of snapshots (src/feed/snapshot-writer.ts). */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GovernanceError } from '../../src/errors.js'
import { SnapshotWriter } from '../../src/feed/snapshot-writer.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gov-writer-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('SnapshotWriter', () => {
  it('writes atomically, coalesces a burst to the newest, and removes on null', async () => {
    const errors: GovernanceError[] = []
    const writer = new SnapshotWriter((e) => void errors.push(e))
    const path = join(dir, 'sub', 'a.json')
    const rendered: number[] = []
    for (let i = 1; i <= 50; i++) {
      writer.save(path, () => {
        rendered.push(i)
        return `${i}\n`
      }, 'a')
    }
    await writer.flush()
    expect(await readFile(path, 'utf8')).toBe('50\n')
    // The first write starts at once; of the 49 that queued behind it only the newest runs.
    expect(rendered).toEqual([1, 50])
    writer.save(path, () => null, 'a')
    await writer.flush()
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    expect(errors).toEqual([])
  })

  it('reports a failing file once per failing streak and writes it again with the next save', async () => {
    const errors: GovernanceError[] = []
    const writer = new SnapshotWriter((e) => void errors.push(e))
    // A directory where the file should be: every write fails until it is gone.
    const blocked = join(dir, 'blocked')
    await writeFile(blocked, 'a file, not a directory')
    const path = join(blocked, 'x.json')
    for (let i = 0; i < 3; i++) {
      writer.save(path, () => 'x', 'the snapshot of x')
      await writer.flush()
    }
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toMatch(/^could not write the snapshot of x/)
    await rm(blocked)
    await mkdir(blocked)
    writer.save(path, () => 'ok', 'the snapshot of x')
    await writer.flush()
    expect(await readFile(path, 'utf8')).toBe('ok')
    await rm(blocked, { recursive: true })
    await writeFile(blocked, 'blocked again')
    writer.save(path, () => 'y', 'the snapshot of x')
    await writer.flush()
    expect(errors).toHaveLength(2)
  })
})

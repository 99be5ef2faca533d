/**
 * Config push latency: the time from a put on one client to the watcher callback on
 * another, one change at a time, against the reference server on loopback (protocol v1
 * blocking queries) and, when /usr/bin/etcd and the etcd backend are there, a local etcd.
 * Goal: p99 <= 20 ms against the reference server.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuUsage } from 'node:process'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { createConfigClient, resolveConfigOptions, type ConfigClient } from '../../src/config/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { etcdBinary, startEtcdCluster } from '../../test/helpers/etcd-cluster.js'
import { percentile, printComparison, type BenchSuite, type CaseResult, type ComparisonResult } from '../lib.js'

const WARMUP = 50
const SAMPLES = 1_000

interface Latency {
  readonly name: string
  readonly samplesMs: readonly number[]
  readonly cpuNsPerOp: number
}

function configClient(backend: Backend): ConfigClient {
  return createConfigClient(resolveConfigOptions({ snapshot: false }), {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 5_000,
  })
}

/** put → callback on the other client, one at a time; each put waits for its delivery. */
async function measure(name: string, makeBackend: () => Backend): Promise<Latency> {
  const writerBackend = makeBackend()
  const watcherBackend = makeBackend()
  const writer = configClient(writerBackend)
  const watcher = configClient(watcherBackend)
  const key = `bench.latency.${Date.now()}`
  let expect = -1
  let arrived: (() => void) | undefined
  const off = watcher.watch<{ n: number }>(key, (value) => {
    if (value?.n === expect) arrived?.()
  })
  const samplesMs: number[] = []
  let cpu = { user: 0, system: 0 }
  try {
    for (let n = 0; n < WARMUP + SAMPLES; n++) {
      if (n === WARMUP) cpu = cpuUsage()
      expect = n
      const delivered = new Promise<void>((resolve) => (arrived = resolve))
      const t0 = process.hrtime.bigint()
      await writer.put(key, { n, payload: 'x'.repeat(64) })
      await delivered
      if (n >= WARMUP) samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  } finally {
    off()
    await Promise.all([writer.close(), watcher.close()])
    await Promise.all([writerBackend.close(), watcherBackend.close()])
  }
  const used = cpuUsage(cpu)
  return { name, samplesMs, cpuNsPerOp: ((used.user + used.system) * 1000) / SAMPLES }
}

function toCase(l: Latency, baselineMs: number): CaseResult {
  const p50 = percentile(l.samplesMs, 50)
  return { name: l.name, nsPerOp: p50 * 1e6, opsPerSec: 1000 / p50, cpuNsPerOp: l.cpuNsPerOp, speedVsBaseline: baselineMs / p50 }
}

function describe(l: Latency): string {
  const p = (q: number): string => percentile(l.samplesMs, q).toFixed(2)
  return `${l.name}: p50 ${p(50)} ms, p90 ${p(90)} ms, p99 ${p(99)} ms, max ${p(100)} ms over ${l.samplesMs.length} changes`
}

async function etcdLatency(notes: string[]): Promise<Latency | undefined> {
  if (etcdBinary() === undefined) {
    notes.push('etcd: skipped, no etcd binary (apt-get install etcd-server)')
    return undefined
  }
  let etcdBackend: typeof import('../../src/backends/etcd/index.js').etcdBackend
  try {
    ;({ etcdBackend } = await import('../../src/backends/etcd/index.js'))
  } catch (error) {
    notes.push(`etcd: skipped, the etcd backend did not load (${(error as Error).message})`)
    return undefined
  }
  const cluster = await startEtcdCluster({ size: 1 })
  try {
    return await measure('etcd 3.4 (1 member, loopback)', () => etcdBackend({ endpoints: cluster.endpoints }))
  } finally {
    await cluster.stop()
  }
}

/** The reference server, in memory or persisting each write (fsync) to a temp dataDir. */
async function referenceLatency(name: string, durable: boolean): Promise<Latency> {
  const dataDir = durable ? await mkdtemp(join(tmpdir(), 'gov-bench-config-')) : undefined
  const server = await createGovernanceServer({ port: 0, ...(dataDir !== undefined && { dataDir }) })
  try {
    return await measure(name, () => httpBackend({ server: server.url }))
  } finally {
    await server.close()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  }
}

const suite: BenchSuite = async () => {
  const reference = await referenceLatency('reference server (http, loopback)', false)
  const durable = await referenceLatency('reference server with dataDir (fsync per put)', true)
  const notes = ["the time is put() start to the other client's watch callback; p50 is the median/op column", describe(reference), describe(durable)]
  const etcd = await etcdLatency(notes)
  if (etcd) notes.push(describe(etcd))
  const p99 = percentile(reference.samplesMs, 99)
  notes.push(`goal p99 <= 20 ms against the reference server: ${p99 <= 20 ? 'met' : 'NOT met'} (${p99.toFixed(2)} ms)`)
  const base = percentile(reference.samplesMs, 50)
  const result: ComparisonResult = {
    title: 'config: put -> watcher callback on another client',
    baseline: reference.name,
    cases: [reference, durable, ...(etcd ? [etcd] : [])].map((l) => toCase(l, base)),
    notes,
  }
  printComparison(result)
  return [result]
}

export default suite

/**
 * A strict parser for the Prometheus text exposition format 0.0.4, for tests: it throws
 * (naming the line) on anything the format does not allow and on the mistakes a writer
 * is likely to make: escapes, duplicate HELP/TYPE/series, TYPE after samples, split
 * families, non-cumulative or unsorted buckets, a missing le="+Inf", _count that is
 * not the +Inf bucket, negative counters.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The sample's own name (`x_bucket` for a histogram `x`). */
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  readonly timestamp?: number
  readonly line: number
}

export interface MetricFamily {
  readonly name: string
  type: MetricType
  help: string | undefined
  readonly samples: Sample[]
}

export class ExpositionError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`)
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Inf)$|^NaN$/
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parseFloatStrict(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new ExpositionError(`${JSON.stringify(text)} is not a valid float`, line)
  if (text === 'NaN') return Number.NaN
  if (/^[+-]?Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  return Number(text)
}

class Parser {
  readonly families = new Map<string, MetricFamily>()
  private readonly finished = new Set<string>()
  private current: string | undefined
  private readonly seriesSeen = new Set<string>()
  private readonly typed = new Set<string>()

  parse(text: string): Map<string, MetricFamily> {
    if (text.includes('\r')) throw new ExpositionError('carriage return found; lines end with \\n alone', 1)
    if (text !== '' && !text.endsWith('\n')) throw new ExpositionError('the last line must end with a line feed', text.split('\n').length)
    const lines = text === '' ? [] : text.slice(0, -1).split('\n')
    lines.forEach((raw, i) => this.line(raw, i + 1))
    for (const family of this.families.values()) checkFamily(family)
    return this.families
  }

  private line(raw: string, n: number): void {
    if (raw.trim() === '') return
    if (raw.startsWith('#')) return this.comment(raw, n)
    const sample = parseSample(raw, n)
    const family = this.familyFor(sample.name)
    this.enter(family.name, n)
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (this.seriesSeen.has(key)) throw new ExpositionError(`duplicate series ${sample.name}${JSON.stringify(sample.labels)}`, n)
    this.seriesSeen.add(key)
    family.samples.push(sample)
  }

  private comment(raw: string, n: number): void {
    const m = /^# (HELP|TYPE) (.*)$/.exec(raw)
    if (m === null) {
      if (/^#\s*(HELP|TYPE)\b/.test(raw)) throw new ExpositionError(`malformed ${raw.slice(0, 12)}… line`, n)
      return
    }
    const [, keyword, rest] = m as unknown as [string, string, string]
    const name = METRIC_NAME.exec(rest)?.[0]
    if (name === undefined || (rest.length > name.length && rest[name.length] !== ' ')) throw new ExpositionError(`invalid metric name in ${keyword}`, n)
    const family = this.family(name)
    this.enter(name, n)
    if (family.samples.length > 0) throw new ExpositionError(`${keyword} for ${name} after its samples`, n)
    const arg = rest.slice(name.length + 1)
    if (keyword === 'HELP') {
      if (family.help !== undefined) throw new ExpositionError(`second HELP for ${name}`, n)
      family.help = unescape(arg, false, n)
    } else {
      if (!TYPES.has(arg)) throw new ExpositionError(`unknown type ${JSON.stringify(arg)}`, n)
      if (this.typed.has(name)) throw new ExpositionError(`second TYPE for ${name}`, n)
      this.typed.add(name)
      family.type = arg as MetricType
    }
  }

  /** Families are contiguous: once left, a family cannot come back. */
  private enter(name: string, n: number): void {
    if (this.current === name) return
    if (this.finished.has(name)) throw new ExpositionError(`lines of ${name} are not contiguous`, n)
    if (this.current !== undefined) this.finished.add(this.current)
    this.current = name
  }

  private family(name: string): MetricFamily {
    let family = this.families.get(name)
    if (family === undefined) this.families.set(name, (family = { name, type: 'untyped', help: undefined, samples: [] }))
    return family
  }

  private familyFor(sampleName: string): MetricFamily {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!sampleName.endsWith(suffix)) continue
      const base = this.families.get(sampleName.slice(0, -suffix.length))
      if (base !== undefined && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base
    }
    return this.family(sampleName)
  }
}

function parseSample(raw: string, n: number): Sample {
  const name = METRIC_NAME.exec(raw)?.[0]
  if (name === undefined) throw new ExpositionError(`invalid metric name at ${JSON.stringify(raw.slice(0, 20))}`, n)
  let pos = name.length
  const labels: Record<string, string> = {}
  if (raw[pos] === '{') pos = parseLabels(raw, pos + 1, labels, n)
  const rest = raw.slice(pos)
  const m = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(rest)
  if (m === null) throw new ExpositionError(`expected " value [timestamp]" after ${name}, got ${JSON.stringify(rest)}`, n)
  const value = parseFloatStrict(m[1] as string, n)
  return m[2] === undefined ? { name, labels, value, line: n } : { name, labels, value, timestamp: Number(m[2]), line: n }
}

/** Parses `a="x",b="y"}` from `pos`; returns the position after `}`. */
function parseLabels(raw: string, pos: number, out: Record<string, string>, n: number): number {
  while (raw[pos] !== '}') {
    const label = LABEL_NAME.exec(raw.slice(pos))?.[0]
    if (label === undefined) throw new ExpositionError(`invalid label name at column ${pos + 1}`, n)
    if (Object.hasOwn(out, label)) throw new ExpositionError(`duplicate label ${label}`, n)
    pos += label.length
    if (raw[pos] !== '=' || raw[pos + 1] !== '"') throw new ExpositionError(`expected ="… after label ${label}`, n)
    pos += 2
    let end = pos
    while (end < raw.length && raw[end] !== '"') end += raw[end] === '\\' ? 2 : 1
    if (end >= raw.length) throw new ExpositionError(`unterminated value of label ${label}`, n)
    out[label] = unescape(raw.slice(pos, end), true, n)
    pos = end + 1
    if (raw[pos] === ',') pos += 1
    else if (raw[pos] !== '}') throw new ExpositionError(`expected , or } after label ${label}`, n)
  }
  return pos + 1
}

/** HELP allows \\ and \n; label values also \". Anything else after a backslash is an error. */
function unescape(text: string, labelValue: boolean, n: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    if (c === '"' && labelValue) return '"'
    throw new ExpositionError(`invalid escape \\${c}`, n)
  })
}

function checkFamily(family: MetricFamily): void {
  for (const s of family.samples) {
    if (family.type === 'counter' && !(s.value >= 0)) throw new ExpositionError(`counter ${s.name} has value ${s.value}`, s.line)
  }
  if (family.type === 'histogram') checkHistogram(family)
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: Sample[]; sum?: Sample; count?: Sample }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (g === undefined) groups.set(key, (g = { buckets: [] }))
    if (s.name === `${family.name}_bucket`) {
      if (le === undefined) throw new ExpositionError('histogram bucket without le', s.line)
      g.buckets.push(s)
    } else if (le !== undefined) throw new ExpositionError(`le on ${s.name}`, s.line)
    else if (s.name === `${family.name}_sum`) g.sum = s
    else if (s.name === `${family.name}_count`) g.count = s
    else throw new ExpositionError(`sample ${s.name} does not belong to histogram ${family.name}`, s.line)
  }
  for (const g of groups.values()) {
    const first = g.buckets[0] ?? g.sum ?? g.count
    const line = first?.line ?? 0
    let lastLe = -Infinity
    let lastCount = 0
    for (const b of g.buckets) {
      const le = parseFloatStrict(b.labels.le as string, b.line)
      if (!(le > lastLe)) throw new ExpositionError(`bucket le=${b.labels.le} is not above the previous one`, b.line)
      if (!(b.value >= lastCount)) throw new ExpositionError(`bucket le=${b.labels.le} is not cumulative`, b.line)
      lastLe = le
      lastCount = b.value
    }
    if (lastLe !== Infinity) throw new ExpositionError(`histogram ${family.name} series lacks le="+Inf"`, line)
    if (g.sum === undefined || g.count === undefined) throw new ExpositionError(`histogram ${family.name} series lacks _sum or _count`, line)
    if (g.count.value !== lastCount) throw new ExpositionError(`_count ${g.count.value} differs from the +Inf bucket ${lastCount}`, g.count.line)
  }
}

/** Parses strictly; throws ExpositionError on the first problem. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  return new Parser().parse(text)
}

/** The value of one sample, matched on its exact label set; undefined when absent. */
export function sampleValue(
  families: ReadonlyMap<string, MetricFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort())
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want) return s.value
    }
  }
  return undefined
}

/**
 * Reads V8 CPU profiles (`node --cpu-prof`, one file per thread) and sums their self time
 * by what kvp does: fetching, partitioning, lane bookkeeping, encoding, MessagePort
 * traffic, acks, the offset tracker, the handler, GC. A frame without a script (a V8
 * builtin, a native call such as a Buffer copy) counts for the kvp frame that called it,
 * so a memcpy in the record packer is encoding, not "native".
 */
import { readFile } from 'node:fs/promises'

interface CallFrame {
  functionName: string
  url: string
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export const Categories = [
  'fetch (node-rdkafka)',
  'partitioning',
  'lanes and partition state',
  'dispatch (packing slices)',
  'encode / decode',
  'MessagePort',
  'acks',
  'offset tracker',
  'commits and backpressure',
  'worker runner',
  'handler',
  'Piscina',
  'node internals',
  'GC',
  'V8 / native, unattributed',
  'other',
] as const
export type Category = (typeof Categories)[number]

/** Self time per category in microseconds, and the idle time, inside a window. */
export interface ThreadTime {
  busyUs: Partial<Record<Category, number>>
  idleUs: number
}

const BY_NAME: Readonly<Record<string, Category>> = {
  '(garbage collector)': 'GC',
  '(program)': 'V8 / native, unattributed',
  postMessage: 'MessagePort',
}

/** Rules on a frame's script URL, first match wins. */
const BY_URL: ReadonlyArray<readonly [RegExp, Category]> = [
  [/\/node-rdkafka\//, 'fetch (node-rdkafka)'],
  [/\/protobufjs\/|\/src\/codec\//, 'encode / decode'],
  [/\/src\/partitioning\//, 'partitioning'],
  [/\/src\/dispatch\/(lane|partition-state)\.js$/, 'lanes and partition state'],
  [/\/src\/dispatch\/pool\.js$/, 'MessagePort'],
  [/\/src\/dispatch\//, 'dispatch (packing slices)'],
  [/\/src\/offsets\//, 'offset tracker'],
  [/\/src\/kafka\/(poller|fetch-positions|fetch-wakeup)\.js$/, 'fetch (node-rdkafka)'],
  [/\/src\/kafka\//, 'commits and backpressure'],
  [/\/src\/worker\/|\/workers\//, 'worker runner'],
  [/\/bench\/handlers\//, 'handler'],
  [/\/piscina\//, 'Piscina'],
  [/^node:internal\/(worker|per_context\/messageport)/, 'MessagePort'],
  [/^node:/, 'node internals'],
]

/** The dispatcher's ack path, apart from its packing. */
const ACK_FUNCTIONS = /^(acks|#sliceDone|sliceDone|#applyAcks|applyAcks)$/

function categoryOf(frame: CallFrame): Category | undefined {
  const named = BY_NAME[frame.functionName]
  if (named !== undefined) return named
  if (frame.url === '') return undefined
  for (const [pattern, category] of BY_URL) {
    if (!pattern.test(frame.url)) continue
    if (category === 'dispatch (packing slices)' && ACK_FUNCTIONS.test(frame.functionName)) return 'acks'
    return category
  }
  return 'other'
}

/** Self time of one profile between `fromUs` and `toUs` (the monotonic clock of its timestamps). */
export async function threadTime(file: string, fromUs: number, toUs: number): Promise<ThreadTime> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const resolved = new Map<number, Category | 'idle'>()
  const resolve = (id: number): Category | 'idle' => {
    const known = resolved.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)
    let category: Category | 'idle' = 'other'
    if (node?.callFrame.functionName === '(idle)') category = 'idle'
    else if (node !== undefined) {
      const own = categoryOf(node.callFrame)
      const up = parent.get(id)
      category = own ?? (up === undefined || byId.get(up)?.callFrame.functionName === '(root)' ? 'V8 / native, unattributed' : resolve(up))
    }
    resolved.set(id, category)
    return category
  }
  const result: ThreadTime = { busyUs: {}, idleUs: 0 }
  let time = profile.startTime
  const { samples, timeDeltas } = profile
  for (let i = 0; i < samples.length; i++) {
    time += timeDeltas[i] ?? 0
    if (time < fromUs || time > toUs) continue
    // A sample stands for the time until the next one.
    const span = timeDeltas[i + 1] ?? 0
    const category = resolve(samples[i] ?? 0)
    if (category === 'idle') result.idleUs += span
    else result.busyUs[category] = (result.busyUs[category] ?? 0) + span
  }
  return result
}

/** The sum of several threads' times (the worker threads of one run). */
export function addThreadTimes(times: readonly ThreadTime[]): ThreadTime {
  const sum: ThreadTime = { busyUs: {}, idleUs: 0 }
  for (const time of times) {
    sum.idleUs += time.idleUs
    for (const [category, us] of Object.entries(time.busyUs) as Array<[Category, number]>) sum.busyUs[category] = (sum.busyUs[category] ?? 0) + us
  }
  return sum
}

export function busyTotal(time: ThreadTime): number {
  let total = 0
  for (const us of Object.values(time.busyUs)) total += us
  return total
}

/**
 * Splits a cost measured over runs into a part per message and a part per slice: the
 * least-squares fit of `us = a × messages + b × slices` (a, b ≥ 0), in nanoseconds.
 */
export function perMessageAndSlice(points: ReadonlyArray<{ us: number; messages: number; slices: number }>): { nsPerMessage: number; nsPerSlice: number } {
  let mm = 0
  let ss = 0
  let ms = 0
  let my = 0
  let sy = 0
  for (const { us, messages, slices } of points) {
    const ns = us * 1000
    mm += messages * messages
    ss += slices * slices
    ms += messages * slices
    my += messages * ns
    sy += slices * ns
  }
  const det = mm * ss - ms * ms
  if (det === 0 || points.length < 2) return { nsPerMessage: mm === 0 ? 0 : my / mm, nsPerSlice: 0 }
  let a = (my * ss - sy * ms) / det
  let b = (mm * sy - ms * my) / det
  // A negative part is noise around zero: refit with that part fixed at zero.
  if (b < 0) {
    a = my / mm
    b = 0
  } else if (a < 0) {
    a = 0
    b = sy / ss
  }
  return { nsPerMessage: a, nsPerSlice: b }
}

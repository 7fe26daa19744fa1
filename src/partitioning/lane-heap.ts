/**
 * A binary min-heap of lane numbers in a Uint32Array, ordered by (load[lane], lane): the
 * root is the least loaded lane, the lower one on a tie. The distributors keep it beside
 * their per-lane load arrays, so choosing a lane costs O(log lanes) and allocates nothing.
 */

/** Orders heap[0..size) from scratch. */
export function heapify(heap: Uint32Array, load: Float64Array, size: number): void {
  for (let index = (size >> 1) - 1; index >= 0; index--) siftDown(heap, load, size, index)
}

/** Restores the heap order below `index` after that lane's load grew. */
export function siftDown(heap: Uint32Array, load: Float64Array, size: number, index = 0): void {
  const item = heap[index] as number
  const itemLoad = load[item] as number
  for (;;) {
    const left = 2 * index + 1
    if (left >= size) break
    const right = left + 1
    let child = left
    if (right < size && before(heap[right] as number, heap[left] as number, load)) child = right
    const childLane = heap[child] as number
    const childLoad = load[childLane] as number
    if (itemLoad < childLoad || (itemLoad === childLoad && item < childLane)) break
    heap[index] = childLane
    index = child
  }
  heap[index] = item
}

function before(a: number, b: number, load: Float64Array): boolean {
  const la = load[a] as number
  const lb = load[b] as number
  return la < lb || (la === lb && a < b)
}

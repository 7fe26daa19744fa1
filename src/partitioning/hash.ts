/**
 * The stable hash that maps virtual keys to lanes: 32-bit FNV-1a over the key's bytes,
 * finished with MurmurHash3's fmix32 so that every output bit (the low ones too, which
 * `hash % lanes` reads) depends on every input byte.
 *
 * Deliberately not Kafka's partitioner hash (murmur2) nor librdkafka's (crc32): the
 * messages of one Kafka partition were routed there by the producer's hash of the same
 * key, so reusing that hash would correlate lane with partition (with 4 partitions and
 * 64 lanes, murmur2 % 64 would leave three lanes in four empty).
 *
 * A key hashes as its bytes: a string as its UTF-8 encoding, a number as its decimal
 * string, so `'42'`, `42` and `Buffer.from('42')` land in the same lane.
 */
export function hashKey(key: string | Buffer | Uint8Array | number): number {
  if (typeof key === 'string') return hashString(key)
  if (typeof key === 'number') return hashString(String(key))
  return hashBytes(key)
}

const FNV_OFFSET_BASIS = 0x811c9dc5
const FNV_PRIME = 0x01000193

function hashBytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET_BASIS
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME)
  }
  return fmix32(h)
}

/** ASCII strings hash straight from their char codes; others via their UTF-8 bytes. */
function hashString(key: string): number {
  let h = FNV_OFFSET_BASIS
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i)
    if (code > 0x7f) return hashBytes(Buffer.from(key, 'utf8'))
    h = Math.imul(h ^ code, FNV_PRIME)
  }
  return fmix32(h)
}

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

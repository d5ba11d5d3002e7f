// go.etcd.io/bbolt's on-disk format (etcd's backend file and the snapshot it sends): the
// constants a reader and a writer share, and the meta page checksum. Little-endian throughout
// (bbolt uses the host order; etcd runs on little-endian hosts).
//
//   page header      id u64, flags u16, count u16, overflow u32
//   meta (page 0, 1) magic u32, version u32, pageSize u32, flags u32, root bucket {pgid u64,
//                    sequence u64}, freelist pgid u64, high-water pgid u64, txid u64, checksum u64
//   branch element   pos u32, ksize u32, pgid u64            (pos relative to the element)
//   leaf element     flags u32, pos u32, ksize u32, vsize u32
//   bucket header    root pgid u64, sequence u64; root 0: an inline leaf page follows

export const boltMagic = 0xed0cdaed;
export const boltVersion = 2;
export const boltPageSizeBytes = 4096;
export const boltPageHeaderBytes = 16;
export const boltElementBytes = 16;
export const boltMetaBytes = 64;
export const boltBucketHeaderBytes = 16;
/** the checksum covers the meta's bytes before it */
export const boltMetaChecksumOffsetBytes = 56;

export const BoltPageFlag = { branch: 0x01, leaf: 0x02, meta: 0x04, freelist: 0x10 } as const;
/** a leaf element whose value is a bucket header */
export const boltBucketLeafFlag = 0x01;

/** FNV-1a 64-bit, the meta page checksum. */
export function fnv64a(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of b) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

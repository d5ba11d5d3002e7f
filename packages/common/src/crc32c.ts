// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of etcd's WAL records,
// snapshot files and `snapshot status` hashes; table driven, slicing by 8.
// crc32c(b, crc32c(a)) === crc32c(a ++ b), so the seed argument chains records.

const castagnoliReflected = 0x82f63b78;
const tableCount = 8;
const table = new Uint32Array(256 * tableCount);

for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ castagnoliReflected : c >>> 1;
  table[i] = c >>> 0;
}
for (let t = 1; t < tableCount; t++) {
  for (let i = 0; i < 256; i++) {
    const prev = table[(t - 1) * 256 + i];
    table[t * 256 + i] = ((prev >>> 8) ^ table[prev & 0xff]) >>> 0;
  }
}
const t0 = table.subarray(0, 256);
const t1 = table.subarray(256, 512);
const t2 = table.subarray(512, 768);
const t3 = table.subarray(768, 1024);
const t4 = table.subarray(1024, 1280);
const t5 = table.subarray(1280, 1536);
const t6 = table.subarray(1536, 1792);
const t7 = table.subarray(1792, 2048);

/** CRC-32C of buf[start, end), continuing from seed (the CRC of everything before). */
export function crc32c(buf: Uint8Array, seed = 0, start = 0, end = buf.length): number {
  let crc = ~seed;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    const hi = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    crc =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[hi & 0xff] ^
      t2[(hi >>> 8) & 0xff] ^
      t1[(hi >>> 16) & 0xff] ^
      t0[hi >>> 24];
  }
  for (; i < end; i++) crc = t0[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

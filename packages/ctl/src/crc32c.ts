// CRC-32C (Castagnoli), the checksum etcd uses for snapshot hashes and WAL records.

const castagnoliPoly = 0x82f63b78;

const table = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ castagnoliPoly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC-32C from `crc` (0 to start) over `data`. */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export const crc32c = {
  create() {
    let crc = 0;
    return {
      update(data: Uint8Array) {
        crc = crc32cUpdate(crc, data);
      },
      digest(): number {
        return crc >>> 0;
      },
    };
  },
};

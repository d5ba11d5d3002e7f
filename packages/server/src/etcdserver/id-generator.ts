// Request (and lease) IDs unique across members and restarts, built like etcd's idutil:
// the member ID's low 16 bits, then a 40-bit millisecond timestamp taken at start, then an
// 8-bit counter; the timestamp+counter part simply increments.

const tsBits = 40n;
const cntBits = 8n;
const suffixBits = tsBits + cntBits;
const u64Mask = (1n << 64n) - 1n;

/** 2^48: the suffix wraps here (a safe integer, so it counts as a number, not a BigInt). */
const suffixWrap = 2 ** Number(suffixBits);

export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: number;

  constructor(memberId: bigint, nowMs: number = Date.now()) {
    this.prefix = (memberId << suffixBits) & u64Mask;
    this.suffix = Number((BigInt(Math.floor(nowMs)) & ((1n << tsBits) - 1n)) << cntBits);
  }

  next(): bigint {
    this.suffix = (this.suffix + 1) % suffixWrap;
    return this.prefix | BigInt(this.suffix);
  }
}

// Segment file naming and directory helpers. A segment is named `<seq>-<index>.wal`, both 16 hex
// digits (etcd's `%016x-%016x.wal`): seq counts segments from 0, index is the raft index the
// first new entry in that segment was expected to have when the segment was cut.

import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WalMissingSegmentError } from './errors.js';

export interface SegmentName {
  seq: bigint;
  index: number;
  name: string;
}

const segmentPattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
export const segmentTmpSuffix = '.tmp';

export function segmentFileName(seq: bigint, index: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.wal`;
}

export function parseSegmentName(name: string): SegmentName | undefined {
  const m = segmentPattern.exec(name);
  if (!m) return undefined;
  const index = Number.parseInt(m[2], 16);
  if (!Number.isSafeInteger(index)) return undefined;
  return { seq: BigInt('0x' + m[1]), index, name };
}

/** Segment files of dir in sequence order; throws when the sequence has a gap. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const out: SegmentName[] = [];
  for (const name of await readdir(dir)) {
    const s = parseSegmentName(name);
    if (s) out.push(s);
  }
  out.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i].seq !== out[i - 1].seq + 1n) throw new WalMissingSegmentError(join(dir, out[i].name), out[i - 1].seq + 1n);
  }
  return out;
}

/** Removes leftovers of a segment cut that crashed before its rename. */
export async function removeTmpSegments(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.endsWith('.wal' + segmentTmpSuffix)) await rm(join(dir, name), { force: true });
  }
}

/**
 * fsync a directory so created/renamed/removed entries in it are durable. Skipped on Windows:
 * Node cannot open a directory there (EISDIR), where etcd opens it with FILE_BACKUP_SEMANTICS
 * and flushes it; NTFS journals the metadata, but an entry renamed just before a power cut may
 * be lost (untested, see the README).
 */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Index of the last segment whose name index is <= index (where replay from index must start). */
export function searchSegment(segments: SegmentName[], index: number): number {
  let at = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i].index <= index) at = i;
  return at;
}

// Snapshot files: one file per raft snapshot, written atomically (temporary file, fsync, rename,
// directory fsync) and checked with CRC-32C on load. A corrupt file is renamed `.broken` and the
// next older one is tried. Data is streamed in chunks on write and read; a loaded snapshot's data
// is one Buffer, so its size is limited by buffer.constants.MAX_LENGTH (4 GiB on 64-bit Node 20).

import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { join } from 'node:path';
import type { Snapshot, SnapshotMetadata } from '@tsetcd/raft';
import { failpoint } from '../failpoint/failpoint.js';
import { crc32c, readU64LE } from '@tsetcd/common';
import { syncDir } from '../wal/segment-file.js';
import { SnapCorruptError, SnapInvalidError } from './errors.js';
import {
  decodeSnapHeader,
  encodeSnapHeader,
  parseSnapFileName,
  snapBrokenSuffix,
  snapFileName,
  snapPrefixBytes,
  snapSuffix,
  snapTmpSuffix,
  snapTrailerBytes,
} from './snap-file.js';

export const snapKeepDefaultCount = 5;
export const snapChunkBytes = 4 * 1024 * 1024;
const headerReadBytes = 64 * 1024;

export interface SnapshotterOptions {
  /** How many snapshot files save() keeps (newest first). Default 5; 0 keeps all. */
  keep?: number;
  /** Told about files renamed to .broken. */
  onWarning?: (message: string) => void;
}

export interface SnapFileInfo {
  name: string;
  term: number;
  index: number;
}

async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, Math.min(snapChunkBytes, buf.length - done), position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    done += bytesWritten;
  }
  return done;
}

async function* chunksOf(data: Uint8Array): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += snapChunkBytes) yield data.subarray(i, Math.min(data.length, i + snapChunkBytes));
}

export class Snapshotter {
  readonly dir: string;
  private readonly keep: number;
  private readonly onWarning?: (message: string) => void;

  constructor(dir: string, opts: SnapshotterOptions = {}) {
    this.dir = dir;
    this.keep = opts.keep ?? snapKeepDefaultCount;
    if (!Number.isSafeInteger(this.keep) || this.keep < 0) throw new RangeError(`snap: keep must be >= 0, got ${this.keep}`);
    this.onWarning = opts.onWarning;
  }

  /** Writes the snapshot durably as <term>-<index>.snap, then purges old files. Returns the file name. */
  save(snapshot: Snapshot): Promise<string> {
    return this.saveStream(snapshot.metadata, chunksOf(snapshot.data));
  }

  /** Like save(), with the data given as chunks (for state too large to hold twice in memory). */
  async saveStream(metadata: SnapshotMetadata, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
    if (metadata.index < 1) throw new SnapInvalidError('snap: snapshot index must be >= 1');
    const header = encodeSnapHeader(metadata); // validates the numbers
    failpoint('snapshotBeforeSave');
    await mkdir(this.dir, { recursive: true });
    const name = snapFileName(metadata.term, metadata.index);
    const tmp = join(this.dir, name + snapTmpSuffix);
    const fh = await open(tmp, 'w');
    try {
      let pos = await writeAll(fh, header, 0);
      let crc = crc32c(header);
      let dataBytes = 0;
      for await (const chunk of data) {
        crc = crc32c(chunk, crc);
        pos += await writeAll(fh, chunk, pos);
        dataBytes += chunk.length;
      }
      const trailer = Buffer.alloc(snapTrailerBytes);
      trailer.writeUInt32LE(dataBytes % 2 ** 32, 0);
      trailer.writeUInt32LE(Math.floor(dataBytes / 2 ** 32), 4);
      crc = crc32c(trailer, crc, 0, 8);
      trailer.writeUInt32LE(crc, 8);
      await writeAll(fh, trailer, pos);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    await fh.close();
    await rename(tmp, join(this.dir, name));
    await syncDir(this.dir);
    failpoint('snapshotAfterSave');
    await this.purge();
    return name;
  }

  /** Snapshot files, newest (highest term, then index) first. Missing dir → []. */
  async list(): Promise<SnapFileInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SnapFileInfo[] = [];
    for (const name of names) {
      const p = parseSnapFileName(name);
      if (p) out.push({ name, ...p });
    }
    return out.sort((a, b) => b.term - a.term || b.index - a.index);
  }

  /** Reads and verifies one snapshot file. Throws SnapCorruptError when it does not check out. */
  async load(name: string): Promise<Snapshot> {
    const path = join(this.dir, name);
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size < snapPrefixBytes + snapTrailerBytes) throw new SnapCorruptError(path, 'file too short');
      const head = Buffer.alloc(Math.min(size, headerReadBytes));
      await fh.read(head, 0, head.length, 0);
      let decoded: ReturnType<typeof decodeSnapHeader>;
      try {
        decoded = decodeSnapHeader(head);
      } catch (reason) {
        if (typeof reason === 'string') throw new SnapCorruptError(path, reason);
        throw reason;
      }
      const { meta, headerBytes } = decoded;
      const named = parseSnapFileName(name);
      if (named && (named.term !== meta.term || named.index !== meta.index)) {
        throw new SnapCorruptError(path, `header says term ${meta.term} index ${meta.index}, name disagrees`);
      }
      const dataBytes = size - headerBytes - snapTrailerBytes;
      if (dataBytes < 0) throw new SnapCorruptError(path, 'file too short for its header');
      if (dataBytes > bufferConstants.MAX_LENGTH) throw new SnapCorruptError(path, `data of ${dataBytes} bytes exceeds the Buffer limit`);
      let crc = crc32c(head, 0, 0, headerBytes);
      const data = Buffer.allocUnsafe(dataBytes);
      for (let off = 0; off < dataBytes; ) {
        const { bytesRead } = await fh.read(data, off, Math.min(snapChunkBytes, dataBytes - off), headerBytes + off);
        if (bytesRead === 0) throw new SnapCorruptError(path, 'file shrank while reading');
        crc = crc32c(data, crc, off, off + bytesRead);
        off += bytesRead;
      }
      const trailer = Buffer.alloc(snapTrailerBytes);
      await fh.read(trailer, 0, snapTrailerBytes, headerBytes + dataBytes);
      if (readU64LE(trailer, 0) !== dataBytes) throw new SnapCorruptError(path, 'data length in trailer does not match file size');
      crc = crc32c(trailer, crc, 0, 8);
      if (crc !== trailer.readUInt32LE(8)) throw new SnapCorruptError(path, 'checksum mismatch');
      return { metadata: meta, data };
    } finally {
      await fh.close();
    }
  }

  /**
   * The newest snapshot that loads cleanly. With walSnapshots (markers from the WAL, see
   * Wal.validSnapshotMarkers), only files matching one of them are considered. Corrupt files are
   * renamed `<name>.broken`. Returns undefined when there is none.
   */
  async loadNewestAvailable(walSnapshots?: ReadonlyArray<{ index: number; term: number }>): Promise<Snapshot | undefined> {
    await this.removeTmpFiles();
    for (const f of await this.list()) {
      if (walSnapshots && !walSnapshots.some((w) => w.index === f.index && w.term === f.term)) continue;
      try {
        return await this.load(f.name);
      } catch (err) {
        if (!(err instanceof SnapCorruptError)) throw err;
        const from = join(this.dir, f.name);
        await rename(from, from + snapBrokenSuffix);
        await syncDir(this.dir);
        this.onWarning?.(`snap: ${err.message}; renamed to ${f.name + snapBrokenSuffix}`);
      }
    }
    return undefined;
  }

  /** Removes temporary files left by a save() that crashed before its rename (call at startup). */
  async removeTmpFiles(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const tmps = names.filter((n) => n.endsWith(snapSuffix + snapTmpSuffix));
    for (const n of tmps) await rm(join(this.dir, n), { force: true });
    if (tmps.length > 0) await syncDir(this.dir);
  }

  /** Deletes all but the newest `keep` snapshot files. */
  async purge(): Promise<string[]> {
    const removed: string[] = [];
    if (this.keep > 0) {
      for (const f of (await this.list()).slice(this.keep)) {
        await rm(join(this.dir, f.name), { force: true });
        removed.push(f.name);
      }
    }
    if (removed.length > 0) await syncDir(this.dir);
    return removed;
  }
}

// etcd reads its certificate and key files again for every TLS handshake, so replacing them
// (certificate rotation) takes effect without a restart. Here the files are checked (size,
// mtime, inode) before each handshake and read again when they changed; a pair that does not
// load (say, the certificate replaced but not yet its key) keeps the one in use, with etcd's
// warning, and is tried again once the files change again.

import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

interface Log {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** A function returning the new certificate and key when the files changed, else undefined. */
export function certReloader(certFile: string, keyFile: string, log?: Log): () => { cert: Buffer; key: Buffer } | undefined {
  const current = (): string => `${stamp(certFile)}|${stamp(keyFile)}`;
  let seen = current();
  return () => {
    const now = current();
    if (now === seen) return undefined;
    seen = now;
    try {
      const pair = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
      createSecureContext(pair); // throws on a mismatched or unreadable pair
      return pair;
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      log?.warn(missing ? 'failed to find peer cert files' : 'failed to create peer certificate', { 'cert-file': certFile, 'key-file': keyFile, error: (e as Error).message });
      return undefined;
    }
  };
}

// Refusing a server's certificate the way TLS means it: with a fatal bad_certificate alert in
// the handshake. Go's client (etcd) checks --peer-cert-allowed-cn/-hostname inside the
// handshake and sends that alert, so the refused server logs "remote error: tls: bad
// certificate" (etcd's e2e TestEtcdPeerCNAuth waits for that line). Node runs
// checkServerIdentity after OpenSSL has finished its side but before the client's last flight
// has left: so, on a refusal over TLS 1.3, the alert is encrypted here with the client
// handshake traffic secret (from the 'keylog' event; the first record under that key, sequence
// number 0) and written to the TCP socket before the connection is dropped. The TLS socket runs
// over the TCP socket as a JS stream for this, so only dialers with such a check use it.

import { createCipheriv, createHmac } from 'node:crypto';
import * as https from 'node:https';
import { isIP, connect as netConnect } from 'node:net';
import * as tls from 'node:tls';

const badCertificate = 42;

/** RFC 8446 HKDF-Expand-Label with an empty context. */
function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac(hash, secret).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

const suites: Record<string, { hash: string; cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'; keyLength: number }> = {
  TLS_AES_128_GCM_SHA256: { hash: 'sha256', cipher: 'aes-128-gcm', keyLength: 16 },
  TLS_AES_256_GCM_SHA384: { hash: 'sha384', cipher: 'aes-256-gcm', keyLength: 32 },
  TLS_CHACHA20_POLY1305_SHA256: { hash: 'sha256', cipher: 'chacha20-poly1305', keyLength: 32 },
};

/** A TLS 1.3 record carrying a fatal alert, protected with `secret` at sequence number 0. */
export function tls13AlertRecord(suite: string, secret: Buffer, description = badCertificate): Buffer | undefined {
  const s = suites[suite];
  if (s === undefined) return undefined;
  const key = expandLabel(s.hash, secret, 'key', s.keyLength);
  const iv = expandLabel(s.hash, secret, 'iv', 12); // nonce = iv XOR 0
  const inner = Buffer.from([2, description, 21]); // fatal, description, content type alert
  const header = Buffer.from([23, 3, 3, 0, inner.length + 16]);
  const c = createCipheriv(s.cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(header, { plaintextLength: inner.length });
  const body = Buffer.concat([c.update(inner), c.final()]);
  return Buffer.concat([header, body, c.getAuthTag()]);
}

/** An HTTPS agent whose connections answer a refused server certificate with bad_certificate. */
export class RefusalAlertAgent extends https.Agent {
  constructor() {
    super({ keepAlive: false });
  }

  override createConnection(options: tls.ConnectionOptions & { host?: string; port?: number }): tls.TLSSocket {
    const host = options.host ?? 'localhost';
    const raw = netConnect({ host, port: options.port ?? 443 });
    raw.on('error', () => undefined);
    const check = options.checkServerIdentity ?? tls.checkServerIdentity;
    let secret: Buffer | undefined;
    const socket: tls.TLSSocket = tls.connect({
      ...options,
      socket: raw,
      servername: options.servername ?? (isIP(host) === 0 ? host : undefined),
      checkServerIdentity: (hostname, cert) => {
        const err = check(hostname, cert);
        if (err !== undefined && secret !== undefined && socket.getProtocol() === 'TLSv1.3') {
          const record = tls13AlertRecord(socket.getCipher().standardName, secret);
          if (record !== undefined) raw.write(record);
        }
        return err;
      },
    });
    socket.on('keylog', (line: Buffer) => {
      const [label, , hex] = line.toString('latin1').trim().split(' ');
      if (label === 'CLIENT_HANDSHAKE_TRAFFIC_SECRET' && hex !== undefined) secret = Buffer.from(hex, 'hex');
    });
    return socket;
  }
}

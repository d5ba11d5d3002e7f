// The peer listener's TLS: an HTTPS server whose connections reach HTTP only after etcd's checks
// on the client certificate (chain when required, allowed CN/hostname, SANs against the remote
// address unless --experimental-peer-skip-client-san-verification, CRL). Refused connections,
// in the handshake or after it, are logged as etcd's "rejected connection" warning.

import type * as http from 'node:http';
import * as https from 'node:https';
import type * as tls from 'node:tls';
import { certReloader } from '../tls/cert-reloader.js';
import { acceptedConnectionError, handshakeErrorMessage, rejectedConnectionFields, serverTlsOptions, type TlsInfo } from '../tls/tls-info.js';

interface Log {
  warn(m: string, f?: Record<string, unknown>): void;
}

export function peerTlsServer(info: TlsInfo, handler: http.RequestListener, log?: Log): https.Server {
  const srv = https.createServer(serverTlsOptions(info), handler);

  // HTTP's own connection listener runs once the checks have passed
  const toHttp = srv.listeners('secureConnection') as Array<(socket: tls.TLSSocket) => void>;
  srv.removeAllListeners('secureConnection');
  srv.on('secureConnection', (socket: tls.TLSSocket) => {
    socket.on('error', () => {});
    socket.pause();
    acceptedConnectionError(info, socket, true).then(
      (reason) => {
        if (socket.destroyed) return;
        if (reason !== undefined) {
          log?.warn('rejected connection', rejectedConnectionFields(socket, reason));
          socket.destroy();
          return;
        }
        for (const l of toHttp) l.call(srv, socket);
        socket.resume();
      },
      () => socket.destroy(),
    );
  });
  const base = serverTlsOptions(info);
  const reload = certReloader(info.certFile, info.keyFile, log);
  srv.prependListener('connection', (raw: { remoteAddress?: string; remotePort?: number }) => {
    // remember the address now: a connection reset in its handshake no longer knows it
    void [raw.remoteAddress, raw.remotePort];
    // replaced certificate files take effect from the next handshake, as in etcd
    const fresh = reload();
    if (fresh !== undefined) srv.setSecureContext({ ca: base.ca, ciphers: base.ciphers, minVersion: base.minVersion, ...fresh });
  });
  srv.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    log?.warn('rejected connection', rejectedConnectionFields(socket, handshakeErrorMessage(err)));
    socket.destroy();
  });
  return srv;
}

// --listen-metrics-urls: extra listeners that serve only /metrics and /health (etcd's
// HandleMetricsHealth), plain for http:// and with the client TLS settings for https://, where,
// as on etcd's metrics listener, a client certificate's SANs must name the connecting address.

import type { ServerLogger } from '../etcdserver/config.js';
import { clientPortListeners, type ClientPortListener, type HttpHandler } from '../grpc/index.js';
import type { TlsInfo } from '../tls/tls-info.js';
import { listenerTls } from './tls-setup.js';

export async function serveMetrics(urls: string[], handler: HttpHandler, tls: TlsInfo | undefined, log: ServerLogger): Promise<ClientPortListener[]> {
  if (urls.length === 0) return [];
  for (const u of urls) {
    const url = new URL(u);
    if (url.protocol === 'https:' && tls === undefined) throw new Error(`cannot listen on TLS for ${url.host}: KeyFile and CertFile are not presented`);
  }
  const onlyMetrics: HttpHandler = (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/metrics' || path === '/health') return handler(req, res);
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end('404 page not found\n');
  };
  const listeners = clientPortListeners(
    urls.map((u) => u.replace('://localhost:', '://127.0.0.1:')),
    { httpHandler: onlyMetrics, tls: tls === undefined ? undefined : listenerTls(tls, true, log) },
  );
  try {
    await Promise.all(listeners.map((l) => l.listen()));
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    throw e;
  }
  for (const u of urls) log.info('serving metrics', { address: u });
  return listeners;
}

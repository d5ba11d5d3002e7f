// Which address a server advertises in the registry (go-zero's netx.InternalIp and
// figureOutListenOn): an explicit host is kept; 0.0.0.0 / empty host becomes POD_IP
// when set, else the first non-loopback IPv4 of an up interface (or a named one).
import { networkInterfaces } from 'node:os';

export function internalIp(interfaceName?: string): string {
  const all = networkInterfaces();
  const names = interfaceName ? [interfaceName] : Object.keys(all);
  for (const name of names) {
    for (const addr of all[name] ?? []) {
      if (addr.family === 'IPv4' && !addr.internal) return addr.address;
    }
  }
  return '';
}

/** host:port to publish for a server listening on listenOn (port already resolved). */
export function advertiseAddress(listenOn: string, port: number, opts: { interfaceName?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  const idx = listenOn.lastIndexOf(':');
  const host = idx >= 0 ? listenOn.slice(0, idx) : listenOn;
  if (host && host !== '0.0.0.0' && host !== '[::]' && host !== '::') return `${host}:${port}`;
  const ip = opts.interfaceName ? internalIp(opts.interfaceName) : env.POD_IP || internalIp();
  return `${ip || '127.0.0.1'}:${port}`;
}

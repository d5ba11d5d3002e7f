// `tsetcd gateway start`: etcd's stateless L4 gateway (etcdmain/gateway.go) — a TCP proxy from
// --listen-addr to the cluster's client endpoints (--endpoints, or _etcd-client SRV records).

import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { createZapLogger } from '../embed/zap-logger.js';
import { TcpProxy, type SrvTarget } from '../proxy/tcp-proxy.js';
import { srvClients } from '../membership/srv-discovery.js';
import { startVerbFlags, type CobraFlag } from './cobra-flags.js';

const startFlags: Record<string, CobraFlag> = {
  'listen-addr': { kind: 'string', def: '127.0.0.1:23790', help: 'listen address' },
  'discovery-srv': { kind: 'string', def: '', help: 'DNS domain used to bootstrap initial cluster' },
  'discovery-srv-name': { kind: 'string', def: '', help: 'service name to query when using DNS discovery' },
  'insecure-discovery': { kind: 'bool', def: false, help: 'accept insecure SRV records' },
  'trusted-ca-file': { kind: 'string', def: '', help: 'path to the client server TLS CA file for verifying the discovered endpoints when discovery-srv is provided.' },
  endpoints: { kind: 'strings', def: ['127.0.0.1:2379'], help: 'comma separated etcd cluster endpoints' },
  'retry-delay': { kind: 'duration', def: 60_000, help: 'duration of delay before retrying failed endpoints' },
};

const gatewayHelp = `gateway

Usage:
  tsetcd gateway [command]

Available Commands:
  start       start the gateway

Flags:
  -h, --help   help for gateway

Use "tsetcd gateway [command] --help" for more information about a command.
`;

/** etcd's stripSchema: "http://host:port" → "host:port". */
function stripScheme(eps: string[]): string[] {
  return eps.map((ep) => {
    try {
      const u = new URL(ep);
      if (u.host !== '' && /^[a-z][a-z0-9+.-]*:\/\//i.test(ep)) return u.host;
    } catch {
      // not a URL: kept as given
    }
    return ep;
  });
}

function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(hp) ?? /^([^:]*):(\d*)$/.exec(hp);
  return m ? { host: m[1], port: m[2] } : undefined;
}

async function addresses(host: string): Promise<string[]> {
  return (await lookup(host === '' ? '0.0.0.0' : host, { all: true })).map((a) => a.address);
}

/** Runs `tsetcd gateway ...`; resolves once the proxy serves (it runs until the process is signalled). */
export async function gatewayMain(args: string[]): Promise<void> {
  const start = startVerbFlags(args, { use: 'tsetcd gateway start', short: 'start the gateway', specs: startFlags, help: gatewayHelp });
  if (start === undefined) return;
  const { values } = start;
  const log = createZapLogger('info', ['stderr'], 'tcpproxy/userspace.go');
  let endpoints: string[] = [];
  let srvs: SrvTarget[] = [];
  const domain = String(values['discovery-srv']);
  if (domain !== '') {
    try {
      const found = await srvClients({ service: 'etcd-client', domain, serviceName: String(values['discovery-srv-name']) });
      endpoints = found.endpoints;
      srvs = found.srvs.map((s) => ({ target: s.name.replace(/\.$/, ''), port: s.port, priority: s.priority, weight: s.weight }));
      log.info('discovered cluster from SRV', { 'srv-server': domain, endpoints });
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    }
  }
  // no endpoints discovered: the given ones
  if (endpoints.length === 0) endpoints = values.endpoints as string[];
  endpoints = stripScheme(endpoints);
  if (srvs.length === 0) {
    for (const ep of endpoints) {
      const hp = splitHostPort(ep);
      if (hp === undefined) {
        process.stdout.write(`error parsing endpoint "${ep}"`);
        process.exit(1);
      }
      srvs.push({ target: hp.host, port: Number(hp.port), priority: 0, weight: 0 });
    }
  }
  const listenAddr = String(values['listen-addr']);
  const lhp = splitHostPort(listenAddr);
  if (lhp === undefined) {
    process.stdout.write(`failed to validate listen address: ${listenAddr}\n`);
    process.exit(1);
  }
  let laddrs: string[];
  try {
    laddrs = await addresses(lhp.host);
  } catch {
    process.stdout.write(`failed to resolve listen host: ${lhp.host}\n`);
    process.exit(1);
  }
  for (const srv of srvs) {
    let eaddrs: string[];
    try {
      eaddrs = await addresses(srv.target);
    } catch {
      process.stdout.write(`failed to resolve endpoint host: ${srv.target}\n`);
      process.exit(1);
    }
    if (String(srv.port) !== lhp.port) continue;
    for (const ea of eaddrs) {
      if (laddrs.includes(ea)) {
        process.stdout.write(`SRV or endpoint (${srv.target}:${srv.port}->${ea}:${srv.port}) should not resolve to the gateway listen addr (${listenAddr})\n`);
        process.exit(1);
      }
    }
  }
  if (endpoints.length === 0) {
    process.stdout.write('no endpoints found\n');
    process.exit(1);
  }
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => {
    listener.once('error', (e) => {
      process.stderr.write(`listen tcp ${listenAddr}: ${(e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'bind: address already in use' : e.message}\n`);
      process.exit(1);
    });
    listener.listen({ host: lhp.host === '' ? undefined : lhp.host, port: Number(lhp.port) }, () => resolve());
  });
  new TcpProxy({ listener, endpoints: srvs, monitorIntervalMs: Number(values['retry-delay']) || 5 * 60_000, log }).run();
}

// DNS SRV discovery, as etcd 3.4's pkg/srv:
// - a member (--discovery-srv <domain> [--discovery-srv-name <suffix>]) builds its initial
//   cluster from _etcd-server-ssl[-suffix]._tcp.<domain> (and _etcd-server[-suffix] for http);
//   the record whose address is one of this member's advertised peer URLs gets its name, the
//   others are named "0", "1", ...;
// - the gateway (--discovery-srv) finds client endpoints in _etcd-client[-ssl][-suffix]._tcp.
// The resolver is the system's; TSETCD_DNS_SERVER=host:port[,...] points it elsewhere (tests).

import { Resolver, lookup } from 'node:dns/promises';
import type { ServerLogger } from '../etcdserver/config.js';
import { BootstrapError } from './errors.js';

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** A resolver on TSETCD_DNS_SERVER when set, else the system's. */
export function srvResolver(env: NodeJS.ProcessEnv = process.env): Resolver {
  const r = new Resolver();
  const servers = (env.TSETCD_DNS_SERVER ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length > 0) r.setServers(servers);
  return r;
}

/** etcd's GetSRVService: "-ssl" for https, then "-<serviceName>" when given. */
export function srvService(service: string, serviceName: string, scheme: 'http' | 'https'): string {
  const s = scheme === 'https' ? `${service}-ssl` : service;
  return serviceName !== '' ? `${s}-${serviceName}` : s;
}

async function lookupSrv(resolver: Resolver, service: string, domain: string): Promise<SrvRecord[]> {
  const name = `_${service}._tcp.${domain}`;
  try {
    return await resolver.resolveSrv(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such host' : String((e as Error).message);
    throw new Error(`lookup ${name}: ${why}`);
  }
}

async function resolveHostPort(host: string, port: number): Promise<string> {
  const a = await lookup(host, { family: 4 }).catch(() => lookup(host));
  return `${a.address}:${port}`;
}

/** etcd's srv.GetCluster: "name=scheme://host:port" for every SRV record of the service. */
export async function getCluster(resolver: Resolver, scheme: 'http' | 'https', service: string, name: string, domain: string, advertisePeerUrls: string[]): Promise<string[]> {
  const byAddr = new Map<string, URL>();
  for (const u of advertisePeerUrls) {
    const url = new URL(u);
    byAddr.set(await resolveHostPort(url.hostname.replace(/^\[(.*)\]$/, '$1'), Number(url.port || (url.protocol === 'https:' ? 443 : 80))), url);
  }
  let records: SrvRecord[];
  try {
    records = await lookupSrv(resolver, service, domain);
  } catch (e) {
    throw new BootstrapError(`error querying DNS SRV records for _${service} ${(e as Error).message}`);
  }
  const parts: string[] = [];
  let tempName = 0;
  let err: string | undefined;
  for (const srv of records) {
    let addr: string;
    try {
      addr = await resolveHostPort(srv.name, srv.port);
    } catch (e) {
      err = (e as Error).message;
      continue;
    }
    const mine = byAddr.get(addr);
    const n = mine !== undefined ? name : String(tempName++);
    const host = srv.name.replace(/\.$/, '');
    const urlHost = host.includes(':') ? `[${host}]:${srv.port}` : `${host}:${srv.port}`;
    if (mine !== undefined && mine.protocol !== `${scheme}:`) {
      err = `bootstrap at ${scheme}://${urlHost} from DNS for ${service} has scheme mismatch with expected peer ${mine.toString().replace(/\/$/, '')}`;
    } else {
      parts.push(`${n}=${scheme}://${urlHost}`);
    }
  }
  if (parts.length === 0) throw new BootstrapError(`error querying DNS SRV records for _${service} ${err ?? 'no records'}`);
  return parts;
}

/**
 * etcd 3.4.23's GetDNSClusterNames + PeerURLsMapAndToken: the initial cluster string of a member
 * bootstrapping from SRV records. As in etcd 3.4.23, the https records decide: without them the
 * lookup fails, and the http records are used only alongside a failed http lookup (upstream's
 * behaviour, kept for drop-in compatibility).
 */
export async function srvInitialCluster(o: { domain: string; serviceName: string; name: string; advertisePeerUrls: string[]; log: ServerLogger; resolver?: Resolver }): Promise<string> {
  const resolver = o.resolver ?? srvResolver();
  const suffix = o.serviceName !== '' ? `-${o.serviceName}` : '';
  let cluster: string[] = [];
  let sslErr: Error | undefined;
  try {
    cluster = await getCluster(resolver, 'https', `etcd-server-ssl${suffix}`, o.name, o.domain, o.advertisePeerUrls);
  } catch (e) {
    sslErr = e as Error;
  }
  o.log.info('get cluster for etcd-server-ssl SRV', { 'service-scheme': 'https', 'service-name': `etcd-server-ssl${suffix}`, 'server-name': o.name, 'discovery-srv': o.domain, 'advertise-peer-urls': o.advertisePeerUrls, 'found-cluster': cluster, error: sslErr?.message });
  let httpErr: Error | undefined;
  let http: string[] = [];
  try {
    http = await getCluster(resolver, 'http', `etcd-server${suffix}`, o.name, o.domain, o.advertisePeerUrls);
  } catch (e) {
    httpErr = e as Error;
  }
  if (httpErr !== undefined) cluster = cluster.concat(http);
  o.log.info('get cluster for etcd-server SRV', { 'service-scheme': 'http', 'service-name': `etcd-server${suffix}`, 'server-name': o.name, 'discovery-srv': o.domain, 'advertise-peer-urls': o.advertisePeerUrls, 'found-cluster': cluster, error: httpErr?.message });
  if (sslErr !== undefined) {
    o.log.warn('failed to resolve during SRV discovery', { error: sslErr.message });
    throw sslErr;
  }
  for (const s of cluster) o.log.info('got bootstrap from DNS for etcd-server', { node: s });
  if (!cluster.some((s) => s.startsWith(`${o.name}=`))) throw new BootstrapError(`cannot find local etcd member "${o.name}" in SRV records`);
  return cluster.join(',');
}

/** etcd's srv.GetClient: client URLs from _<service>-ssl and _<service> SRV records (gateway). */
export async function srvClients(o: { service: string; domain: string; serviceName: string; resolver?: Resolver }): Promise<{ endpoints: string[]; srvs: SrvRecord[] }> {
  const resolver = o.resolver ?? srvResolver();
  const endpoints: string[] = [];
  const srvs: SrvRecord[] = [];
  const errors: string[] = [];
  for (const scheme of ['https', 'http'] as const) {
    try {
      const recs = await lookupSrv(resolver, srvService(o.service, o.serviceName, scheme), o.domain);
      for (const r of recs) endpoints.push(`${scheme}://${r.name.includes(':') ? `[${r.name}]` : r.name}:${r.port}`);
      srvs.push(...recs);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length === 2) throw new Error(`dns lookup errors: ${errors[0]} and ${errors[1]}`);
  return { endpoints, srvs };
}

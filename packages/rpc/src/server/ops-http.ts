// The HTTP side of go-zero's ServiceConf: the Prometheus agent (GET <Path> on Host:Port) and the
// dev server (GET / lists the routes as JSON, <HealthPath> answers HealthResponse while the
// service is SERVING and 503 otherwise, <MetricsPath> serves the metrics).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry as PromRegistry } from 'prom-client';
import type { DevServerConf, PrometheusConf } from '../config/rpc-config.js';

export interface OpsServer {
  /** the bound port (Port 0 picks one) */
  port: number;
  close(): Promise<void>;
}

type Route = (res: import('node:http').ServerResponse) => void | Promise<void>;

async function serve(host: string, port: number, routes: Map<string, Route>): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.get(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    Promise.resolve(route(res)).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${err.message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function metricsRoute(registry: PromRegistry): Route {
  return async (res) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  };
}

/** go-zero's prometheus.StartAgent. */
export function startPrometheusAgent(conf: PrometheusConf, registry: PromRegistry): Promise<OpsServer> {
  return serve(conf.Host, conf.Port, new Map([[conf.Path, metricsRoute(registry)]]));
}

/** go-zero's devserver.StartAgent. */
export function startDevServer(conf: DevServerConf, registry: PromRegistry, serving: () => boolean): Promise<OpsServer> {
  const routes = new Map<string, Route>();
  const list: string[] = [];
  const add = (path: string, route: Route) => {
    routes.set(path, route);
    list.push(path);
  };
  add('/', (res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list) + '\n'));
  add(conf.HealthPath, (res) => {
    if (serving()) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(conf.HealthResponse);
    else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('Service Unavailable\n');
  });
  if (conf.EnableMetrics) add(conf.MetricsPath, metricsRoute(registry));
  return serve(conf.Host, conf.Port, routes);
}

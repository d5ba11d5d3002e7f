// `tsetcd-rpc new <name>`: goctl's `rpc new` for TypeScript. Writes a runnable service:
//   <name>/<name>.proto                  service <Pascal> { rpc Ping(Request) returns (Response); }
//   <name>/etc/<name>.yaml               go-zero's RpcServerConf (Name, ListenOn, Etcd)
//   <name>/etc/<name>-client.yaml        RpcClientConf for the client
//   <name>/<name>.ts                     the server's main: load conf, add the service, start
//   <name>/internal/svc/service-context.ts, internal/logic/ping-logic.ts, internal/server/<name>-server.ts
//   <name>/client/<name>-client.ts       calls Ping once through etcd and prints the answer
//   <name>/gen/<name>.ts                 typed code generated from the proto (rpc-gen)
//   <name>/package.json, tsconfig.json   `npm start` runs the server, `npm run client` the client
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NewServiceOptions {
  /** parent directory (default: cwd) */
  dir?: string;
  /** etcd hosts written into the yaml files (default 127.0.0.1:2379, as goctl) */
  etcdHosts?: string[];
  /** ListenOn of the server (default 0.0.0.0:8080, as goctl) */
  listenOn?: string;
}

export interface NewServiceResult {
  /** the service directory */
  dir: string;
  /** files written, relative to dir */
  files: string[];
}

export class ScaffoldError extends Error {
  readonly code = 'RPC_SCAFFOLD';
}

const pascal = (name: string): string =>
  name
    .split(/[-_]/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');

const camel = (name: string): string => {
  const p = pascal(name);
  return p[0].toLowerCase() + p.slice(1);
};

/** Versions the generated package.json asks for: this package's own and its dependencies'. */
function versions(): { rpc: string; grpc: string } {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as {
    version: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  return { rpc: pkg.version, grpc: pkg.peerDependencies?.['@grpc/grpc-js'] ?? pkg.dependencies?.['@grpc/grpc-js'] ?? '1.14' };
}

function templates(name: string, o: Required<Omit<NewServiceOptions, 'dir'>>): Record<string, string> {
  const Svc = pascal(name);
  const svc = camel(name);
  const pkg = name.replace(/-/g, '_').toLowerCase();
  const key = `${name}.rpc`;
  const hosts = o.etcdHosts.map((h) => `    - ${h}`).join('\n');
  const v = versions();
  return {
    [`${name}.proto`]: `syntax = "proto3";

package ${pkg};

message Request {
  string ping = 1;
}

message Response {
  string pong = 1;
}

service ${Svc} {
  rpc Ping(Request) returns (Response);
}
`,
    [`etc/${name}.yaml`]: `Name: ${key}
ListenOn: ${o.listenOn}
Etcd:
  Hosts:
${hosts}
  Key: ${key}
`,
    [`etc/${name}-client.yaml`]: `Etcd:
  Hosts:
${hosts}
  Key: ${key}
`,
    [`${name}.ts`]: `// ${key}: registers in etcd under ${key} and serves ${Svc}.
// Start: npm start   (node --import tsx ${name}.ts -f etc/${name}.yaml)
// The yaml may use \${VAR} / $VAR: they are expanded from the environment (go-zero's conf.UseEnv).
import { parseArgs } from 'node:util';
import { RpcServer, loadServerConf } from '@tsetcd/rpc';
import { ${Svc}Service } from './gen/${name}.js';
import { ServiceContext } from './internal/svc/service-context.js';
import { ${svc}Server } from './internal/server/${name}-server.js';

const { values } = parseArgs({ options: { f: { type: 'string', default: 'etc/${name}.yaml' } } });
const conf = loadServerConf(values.f!, { useEnv: true });
const ctx = new ServiceContext(conf);
const server = new RpcServer(conf);
server.addService(${Svc}Service, ${svc}Server(ctx));
const { address } = await server.start({ installSignalHandlers: true });
console.log(\`Starting rpc server at \${conf.ListenOn} (registered as \${address})...\`);
`,
    'internal/svc/service-context.ts': `// What the logic needs: the config, and the clients and stores you add here.
import type { RpcServerConf } from '@tsetcd/rpc';

export class ServiceContext {
  constructor(readonly config: RpcServerConf) {}
}
`,
    'internal/logic/ping-logic.ts': `// The Ping method's business logic.
import type { Request, Response } from '../../gen/${name}.js';
import type { ServiceContext } from '../svc/service-context.js';

export class PingLogic {
  constructor(private readonly ctx: ServiceContext) {}

  async ping(req: Request): Promise<Response> {
    // todo: add your logic here
    return { pong: req.ping };
  }
}
`,
    [`internal/server/${name}-server.ts`]: `// ${Svc}'s gRPC handlers: each method hands its request to its logic.
import type { ${Svc}Server } from '../../gen/${name}.js';
import { PingLogic } from '../logic/ping-logic.js';
import type { ServiceContext } from '../svc/service-context.js';

export function ${svc}Server(ctx: ServiceContext): ${Svc}Server {
  return {
    ping: async (call) => new PingLogic(ctx).ping(call.request),
  };
}
`,
    [`client/${name}-client.ts`]: `// Calls ${Svc}.Ping once through etcd discovery and prints the answer.
// Run: npm run client   (node --import tsx client/${name}-client.ts -f etc/${name}-client.yaml [ping])
import { parseArgs } from 'node:util';
import { RpcClient, loadClientConf, unary } from '@tsetcd/rpc';
import { ${Svc}Client } from '../gen/${name}.js';

const { values, positionals } = parseArgs({ options: { f: { type: 'string', default: 'etc/${name}-client.yaml' } }, allowPositionals: true });
const client = await RpcClient.create(loadClientConf(values.f!, { useEnv: true }));
try {
  const ${svc} = client.service(${Svc}Client);
  const res = await unary(${svc}.ping.bind(${svc}), { ping: positionals[0] ?? 'ping' });
  console.log(res.pong);
} finally {
  client.close();
}
`,
    'package.json': `${JSON.stringify(
      {
        name,
        private: true,
        type: 'module',
        scripts: {
          gen: `tsetcd-rpc gen ${name}.proto --out gen`,
          start: `node --import tsx ${name}.ts -f etc/${name}.yaml`,
          client: `node --import tsx client/${name}-client.ts -f etc/${name}-client.yaml`,
        },
        dependencies: { '@tsetcd/rpc': `^${v.rpc}`, '@grpc/grpc-js': v.grpc, '@bufbuild/protobuf': '^2.0.0' },
        devDependencies: { tsx: '^4.0.0', typescript: '^5.0.0', '@types/node': '^20.0.0' },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true }, include: ['**/*.ts'] },
      null,
      2,
    )}\n`,
  };
}

/** Writes the service skeleton (not the generated code: see generate in the bin). */
export function newService(name: string, opts: NewServiceOptions = {}): NewServiceResult {
  if (!/^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/.test(name)) {
    throw new ScaffoldError(`tsetcd-rpc new: service name ${JSON.stringify(name)} must be lower case letters and digits, words joined by "-" or "_" (e.g. greeter, user-center)`);
  }
  const dir = resolve(opts.dir ?? process.cwd(), name);
  if (existsSync(dir)) throw new ScaffoldError(`tsetcd-rpc new: ${dir} already exists`);
  const files = templates(name, { etcdHosts: opts.etcdHosts ?? ['127.0.0.1:2379'], listenOn: opts.listenOn ?? '0.0.0.0:8080' });
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return { dir, files: Object.keys(files) };
}

// Entry point of tsetcdctl (bin/tsetcdctl.mjs of @tsetcd/ctl; ./bin/tsetcdctl in the repo).

import * as grpc from '@grpc/grpc-js';
import { runCtl } from './cli.js';
import { processOutput } from './output.js';

// etcdctl keeps gRPC's own logging quiet (only errors of its own reach stderr).
grpc.setLogVerbosity(grpc.logVerbosity.NONE);
const code = await runCtl(process.argv.slice(2), processOutput);
process.exit(code);

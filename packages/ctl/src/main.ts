// Entry point of ./bin/tsetcdctl (run by node through the wrapper script).

import { runCtl } from './cli.js';
import { processOutput } from './output.js';

const code = await runCtl(process.argv.slice(2), processOutput);
process.exit(code);

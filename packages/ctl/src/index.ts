// @tsetcd/ctl: etcdctl v3 (3.4.23) in TypeScript. `runCtl` runs one command line.

export { runCtl, buildCommandTree, processIo } from './cli.js';
export type { CtlIo } from './command.js';
export { BufferOutput, processOutput, type Output } from './output.js';
export { CtlExit, ExitCode } from './errors.js';
export { goQuote, humanizeBytes } from './go-format.js';
export { formatGoDuration as goDuration } from '@tsetcd/common';
export { readBoltStatus } from './snapshot-status.js';

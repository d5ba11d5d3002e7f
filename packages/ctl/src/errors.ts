// Errors of tsetcdctl. Every failure ends the process through CtlExit, which carries etcdctl's
// exit code (ctlv3/command/error.go) and the message printed as `Error: <message>`.

/** etcdctl's exit codes. */
export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3,
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CtlExit extends Error {
  readonly code = 'CTL_EXIT';
  /**
   * @param exitCode process exit code
   * @param message printed as `Error: <message>` on stderr (nothing when empty)
   * @param doubled cobra errors are printed twice (by cobra, then by etcdctl's main)
   * @param prefix raw stderr text printed before the final `Error:` line
   */
  constructor(
    readonly exitCode: number,
    message: string,
    readonly doubled = false,
    readonly prefix = '',
  ) {
    super(message);
  }

  stderrText(): string {
    if (this.message === '' && this.prefix === '') return '';
    const firstLine = this.message.split('\n')[0];
    if (this.doubled) return `Error: ${this.message}\nError: ${firstLine}\n`;
    return `${this.prefix}Error: ${this.message}\n`;
  }
}

/** A Go runtime panic (etcdctl 3.4 dereferences nil in a few printers); exit code 2. */
export class CtlPanic extends Error {
  readonly code = 'CTL_PANIC';
}

export function exitWithError(exitCode: number, message: string): never {
  throw new CtlExit(exitCode, message);
}

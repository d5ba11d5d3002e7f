// Where tsetcdctl writes. Tests and embedders can capture output by passing their own sinks.

export interface Output {
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
}

export const processOutput: Output = {
  stdout(text) {
    process.stdout.write(text);
  },
  stderr(text) {
    process.stderr.write(text);
  },
};

export class BufferOutput implements Output {
  private out: Buffer[] = [];
  private err: string[] = [];
  stdout(text: string | Uint8Array): void {
    this.out.push(typeof text === 'string' ? Buffer.from(text) : Buffer.from(text));
  }
  stderr(text: string): void {
    this.err.push(text);
  }
  get stdoutText(): string {
    return Buffer.concat(this.out).toString('utf8');
  }
  get stdoutBytes(): Buffer {
    return Buffer.concat(this.out);
  }
  get stderrText(): string {
    return this.err.join('');
  }
}

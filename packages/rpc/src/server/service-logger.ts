// The service logger from go-zero's Log section (logx.LogConf), on pino:
//   Mode console → stdout; file → <Path>/access.log (debug, info, warn), error.log, severe.log;
//   volume → the same files under <Path>/<ServiceName>/<hostname>/.
//   Encoding json → pino's JSON lines; plain → "time<TAB>level<TAB>message<TAB>key=value...".
//   Level debug | info | error | severe (pino fatal). RPC_LOG_LEVEL overrides the level.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { LogConf } from '../config/rpc-config.js';

const pinoLevel: Record<LogConf['Level'], Level> = { debug: 'debug', info: 'info', error: 'error', severe: 'fatal' };
const levelName: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'severe' };

/** Rewrites pino's JSON lines as go-zero's plain encoding before they reach `out`. */
function plain(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, pid: _pid, hostname: _host, name: _name, ...fields } = rec;
      const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      const when = typeof time === 'number' ? new Date(time).toISOString() : String(time);
      out.write([when, levelName[level as number] ?? String(level), String(msg ?? ''), ...extra].join('\t') + '\n');
    },
  };
}

export interface ServiceLogger {
  logger: Logger;
  /** closes the log files (file and volume modes) */
  close(): void;
}

export function serviceLogger(conf: LogConf): ServiceLogger {
  const level = (process.env.RPC_LOG_LEVEL as Level | undefined) ?? pinoLevel[conf.Level];
  const encode = (d: DestinationStream): DestinationStream => (conf.Encoding === 'plain' ? plain(d) : d);
  const opts = { level, name: conf.ServiceName };
  if (conf.Mode === 'console') return { logger: pino(opts, encode(pino.destination({ dest: 1, sync: true }))), close() {} };
  const dir = conf.Mode === 'volume' ? join(conf.Path, conf.ServiceName, hostname()) : conf.Path;
  const files: Array<{ end(): void }> = [];
  let closed = false;
  const file = (name: string): DestinationStream => {
    const d = pino.destination({ dest: join(dir, name), sync: true, mkdir: true });
    files.push(d);
    const out = encode(d);
    return { write: (line: string) => void (closed ? undefined : out.write(line)) }; // late lines after close are dropped
  };
  const logger = pino(
    opts,
    pino.multistream(
      [
        { level: 'trace', stream: file('access.log') },
        { level: 'error', stream: file('error.log') },
        { level: 'fatal', stream: file('severe.log') },
      ],
      { dedupe: true },
    ),
  );
  return {
    logger,
    close: () => {
      if (closed) return;
      closed = true;
      for (const f of files) f.end();
    },
  };
}

// Printer factory (etcdctl's NewPrinter).

import type { Output } from '../output.js';
import { FieldsPrinter } from './fields-printer.js';
import { JsonPrinter } from './json-printer.js';
import type { Printer } from './printer.js';
import { ProtobufPrinter } from './protobuf-printer.js';
import { SimplePrinter } from './simple-printer.js';
import { TablePrinter } from './table-printer.js';

export function newPrinter(format: string, isHex: boolean, out: Output): Printer | undefined {
  switch (format) {
    case 'simple':
      return new SimplePrinter(out, isHex);
    case 'fields':
      return new FieldsPrinter(out);
    case 'json':
      return new JsonPrinter(out);
    case 'protobuf':
      return new ProtobufPrinter(out);
    case 'table':
      return new TablePrinter(out);
  }
  return undefined;
}

export { Printer } from './printer.js';
export type { EpHashKV, EpHealth, EpStatus, SnapshotStatus, WatchResult } from './printer.js';
export { SimplePrinter } from './simple-printer.js';

// `-w table`: tablewriter boxes, only for member list, endpoint health/status/hashkv and
// snapshot status (everything else is "table not supported as output format").

import type { etcdserverpb } from '@tsetcd/proto';
import { hexU } from '../go-format.js';
import type { Output } from '../output.js';
import { renderTable } from '../text-columns.js';
import {
  dbStatusHeader, endpointHashKVHeader, endpointHealthHeader, endpointStatusHeader, memberListHeader, memberListRows,
  Printer, type EpHashKV, type EpHealth, type EpStatus, type SnapshotStatus,
} from './printer.js';
import { dbStatusRows, hashRows, healthRows, statusRows } from './simple-printer.js';

export class TablePrinter extends Printer {
  constructor(out: Output) {
    super(out, 'table');
  }
  override memberList(r: etcdserverpb.MemberListResponse): void {
    this.out.stdout(renderTable(memberListHeader, memberListRows(r, hexU)));
  }
  override endpointHealth(l: EpHealth[]): void {
    this.out.stdout(renderTable(endpointHealthHeader, healthRows(l)));
  }
  override endpointStatus(l: EpStatus[]): void {
    this.out.stdout(renderTable(endpointStatusHeader, statusRows(l)));
  }
  override endpointHashKV(l: EpHashKV[]): void {
    this.out.stdout(renderTable(endpointHashKVHeader, hashRows(l)));
  }
  override dbStatus(s: SnapshotStatus): void {
    this.out.stdout(renderTable(dbStatusHeader, dbStatusRows(s)));
  }
}

// grpc.health.v1.Health as etcd 3.4 serves it on the client port (grpc-go's health server with
// the whole server "" SERVING): Check answers SERVING for "" and NotFound "unknown service" for
// any other name; Watch sends the status (SERVICE_UNKNOWN for other names) and stays open.

import { healthpb } from '@tsetcd/proto';
import { GrpcError, GrpcCode, type GrpcServer } from '../grpc/index.js';

const Status = healthpb.HealthCheckResponse_ServingStatus;

function statusOf(service: string): healthpb.HealthCheckResponse_ServingStatus | undefined {
  return service === '' ? Status.SERVING : undefined;
}

export function registerHealthService(g: GrpcServer): void {
  const dec = (b: Uint8Array) => healthpb.HealthCheckRequest.decode(b);
  const enc = (m: healthpb.HealthCheckResponse) => healthpb.HealthCheckResponse.encode(m).finish();
  g.addUnary('/grpc.health.v1.Health/Check', dec, enc, (r) => {
    const status = statusOf(r.service);
    if (status === undefined) throw new GrpcError(GrpcCode.NotFound, 'unknown service');
    return { status };
  });
  g.addServerStream('/grpc.health.v1.Health/Watch', dec, enc, (r, call) =>
    new Promise<void>((resolve) => {
      call.write({ status: statusOf(r.service) ?? Status.SERVICE_UNKNOWN });
      // the status never changes: the stream stays open until the client or the server ends it
      call.onCancel(() => resolve());
    }),
  );
}

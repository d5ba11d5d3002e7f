// grpc.health.v1.Health (Check and Watch) with a per-service serving status; the empty
// service name is the whole server. Unknown services get NOT_FOUND "unknown service"
// on Check and SERVICE_UNKNOWN on Watch, like grpc-go's health server.
import * as grpc from '@grpc/grpc-js';
import { healthpb } from '@tsetcd/proto';

export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}

const encodeResponse = (r: HealthCheckResponse): Buffer => Buffer.from(healthpb.HealthCheckResponse.encode({ status: r.status as number }).finish());
const decodeResponse = (b: Buffer): HealthCheckResponse => ({ status: healthpb.HealthCheckResponse.decode(b).status as number as ServingStatus });
const encodeRequest = (r: HealthCheckRequest): Buffer => Buffer.from(healthpb.HealthCheckRequest.encode({ service: r.service }).finish());
const decodeRequest = (b: Buffer): HealthCheckRequest => ({ service: healthpb.HealthCheckRequest.decode(b).service });

export const healthServiceDefinition: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
};

/** A client for grpc.health.v1.Health (requests are service names, responses statuses). */
export const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition, 'grpc.health.v1.Health');

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>([['', ServingStatus.SERVING]]);
  private readonly watchers = new Map<string, Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>>();

  set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const w of this.watchers.get(service) ?? []) w.write({ status });
  }

  /** Every service (and the server) to NOT_SERVING, e.g. at shutdown. */
  shutdown(): void {
    for (const s of this.statuses.keys()) this.set(s, ServingStatus.NOT_SERVING);
  }

  /** Ends open Watch streams (before the server stops). */
  closeWatchers(): void {
    for (const set of this.watchers.values()) for (const w of set) w.end();
    this.watchers.clear();
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  readonly implementation: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) => {
      const s = this.statuses.get(call.request.service);
      if (s === undefined) callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else callback(null, { status: s });
    },
    Watch: (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      const service = call.request.service;
      call.write({ status: this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
      let set = this.watchers.get(service);
      if (!set) this.watchers.set(service, (set = new Set()));
      set.add(call);
      call.on('cancelled', () => set.delete(call));
    },
  };
}

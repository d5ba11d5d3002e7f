// gRPC status codes by name (google.golang.org/grpc/codes); the numbers are the wire values.

export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const names = new Map<number, string>(Object.entries(GrpcCode).map(([name, code]) => [code, name]));

/** codes.Code.String(): the name ("Unavailable"), or "Code(17)" for a number with none. */
export function grpcCodeName(code: number): string {
  return names.get(code) ?? `Code(${code})`;
}

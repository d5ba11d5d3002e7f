// gRPC over node:http2 and etcd's shared client port (gRPC + HTTP/1.1 + TLS on one port).
export { GrpcError, GrpcCode, statusOf, TransportUsageError } from './errors.js';
export {
  GrpcServer, type GrpcServerOptions, type MethodInterceptor, type LocalMethod, type MethodDefinitionLike, type HandlerFor, type UnaryHandler, type ServerStreamHandler, type BidiHandler,
  defaultMaxReceiveMessageBytes, defaultMaxSendMessageBytes,
} from './grpc-server.js';
export {
  ServerCall, UnaryCall, StreamingCall, ServerStreamCall, BidiCall, type CallStatus, type CallType,
  type CallObserver, type CancelReason, type Decoder, type Encoder,
} from './grpc-call.js';
export {
  ClientPortListener, clientPortListeners, type ClientPortListenerOptions, type ClientPortTlsOptions,
  type HttpHandler,
} from './client-port-listener.js';
export { encodeGrpcMessage, decodeGrpcMessage } from './grpc-message-encoding.js';
export { parseGrpcTimeoutMs } from './grpc-timeout.js';
export { MessageDeframer, frameMessage } from './message-framing.js';

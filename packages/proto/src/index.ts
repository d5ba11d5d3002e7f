// etcd's v3 wire API as TypeScript, generated from ../../proto by scripts/build.mjs.
// Each proto package is exported as a namespace: etcdserverpb.RangeRequest, mvccpb.KeyValue, ...
export * as etcdserverpb from './gen/etcdserverpb/rpc.js';
export * as mvccpb from './gen/mvccpb/kv.js';
export * as authpb from './gen/authpb/auth.js';
export * as v3electionpb from './gen/v3electionpb/v3election.js';
export * as v3lockpb from './gen/v3lockpb/v3lock.js';
export * as healthpb from './gen/grpc/health/v1/health.js';
export * as tsetcdpb from './gen/tsetcd/raft_internal.js';
export * as jsonSchema from './gen/json-schema.js';
// hand-written hot-path codecs the server uses next to the generated ones (they agree byte for byte)
export { ScratchWriter, type Encodes } from './hot/scratch-writer.js';
export { decodePutRequestView, decodeRangeRequestView } from './hot/put-request-view.js';
export { putProposal, type PutProposal } from './hot/put-proposal.js';

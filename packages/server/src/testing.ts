// @tsetcd/server/testing: throw-away clusters for an application's own tests (see embed/test-cluster.ts).
export { startCluster, type TestCluster, type TestClusterOptions } from './embed/test-cluster.js';

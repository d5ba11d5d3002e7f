// Errors of cluster membership: bootstrap problems (refuse to start). The Cluster API's errors
// are in the shared table (../errors.ts Errors.member…).

export class BootstrapError extends Error {
  readonly code = 'ERR_CLUSTER_BOOTSTRAP';
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

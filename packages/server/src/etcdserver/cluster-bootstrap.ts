// How a member without a data dir starts: as one of the initial members of a new cluster (the
// same bootstrap ConfChange entries on every member) or joining a running cluster (empty raft
// log; membership arrives with the leader's log or snapshot).

export interface BootstrapMember {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface ClusterBootstrap {
  memberId: bigint;
  clusterId: bigint;
  /** new: the initial members (bootstrap entries, sorted by ID); join: the running cluster's members */
  members: BootstrapMember[];
  join: boolean;
}

// The failpoint names the code base uses. Keep in sync with README.md in this folder.
export const failpointNames = [
  'walBeforeWrite',
  'walAfterWrite',
  'walBeforeSync',
  'walAfterSync',
  'walBeforeCut',
  'walAfterCut',
  'snapshotBeforeSave',
  'snapshotAfterSave',
  'backendBeforeCommit',
  'backendAfterCommit',
  'compactDuring',
  'defragDuring',
] as const;

export type FailpointName = (typeof failpointNames)[number];

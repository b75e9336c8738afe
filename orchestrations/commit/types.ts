/** What the commit-failover orchestration and its activities pass each other (JSON, kept in history). */

export interface CommitPlan {
  /** `{rg}/{vm}` of the protected item. */
  vmId: string;
  sourceRegion: string;
  /** How many recovery points the item had when the commit began. */
  points: number;
  /** Whether the source region's storage answered within 3 s, and why not. */
  sourceReachable: boolean;
  sourceError?: string;
}

export interface DeletedPoints {
  points: number;
  snapshots: number;
  journalBlobs: number;
}

/** Disks earlier jobs made for the failed-over VM, deleted by commit (`blob.name`s: ids in Azure). */
export interface DeletedDisks {
  disks: string[];
}

export interface StopReplicationOutcome {
  /** Whether the agent config is gone (deleted now, or before). */
  deleted: boolean;
  /** Why it could not be deleted. */
  reason?: string;
}

export interface CommitResult {
  deletedPoints: number;
  /** Disks earlier jobs had made for the failed-over VM (none locally). */
  deletedDisks: number;
}

export const COMMIT_ACTIVITIES = {
  prerequisites: 'commitPrerequisites',
  deletePoints: 'commitDeletePoints',
  deleteEarlierDisks: 'commitDeleteEarlierDisks',
  stopReplication: 'commitStopReplication',
  release: 'commitRelease',
} as const;

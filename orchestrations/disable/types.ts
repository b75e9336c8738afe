/** What the disable-replication orchestration and its activities pass each other (JSON, in history). */
import type { ProtectedItemState } from '../../shared/protectedItems';

/** The protected item as the prerequisites check found it, claimed by this job. */
export interface DisableSubject {
  resourceGroup: string;
  vm: string;
  generation: number;
  /** The state the item had before this job claimed it. */
  previousState: ProtectedItemState;
}

/** The outcome of work in the source region, which may be down: then the job warns and goes on. */
export type SourceOutcome<T> = ({ reachable: true } & T) | { reachable: false; error: string };

/** What the agent's status blob says about replication, for the wait after its config is deleted. */
export interface AgentStopStatus {
  /** True once the agent no longer replicates (or never reported, or its process stopped). */
  stopped: boolean;
  health: string | null;
  generation: number | null;
  updatedAt: string | null;
}

export interface RemovedCounts {
  recoveryPoints: number;
  replicas: number;
  journalBlobs: number;
  cacheBlobs: number;
}

export interface DisableReplicationResult {
  removed: RemovedCounts;
}

export const DISABLE_ACTIVITIES = {
  prerequisites: 'disablePrerequisites',
  stopAgent: 'disableStopAgent',
  agentStatus: 'disableAgentStatus',
  removePoints: 'disableRemovePoints',
  removeReplicas: 'disableRemoveReplicas',
  removeJournal: 'disableRemoveJournal',
  removeCache: 'disableRemoveCache',
  removeItem: 'disableRemoveItem',
} as const;

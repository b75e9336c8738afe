/** Recovery points: catalog, cutting, retention, pruning, any-point-in-time, RPO and health. */
export { appConsistentCutter, requestAppConsistentBookmark } from './appConsistent';
export { type RecoveryPointCatalog, TableRecoveryPointCatalog } from './catalog';
export { type CutDeps, type CutResult, cutHeld, cutRecoveryPoint } from './cut';
export { assessHealth, type HealthAssessment } from './health';
export {
  materializeAt,
  type MaterializeDeps,
  type MaterializedDisk,
  type MaterializeRequest,
  type MaterializeResult,
  type MaterializeTarget,
} from './materialize';
export { DEFAULT_POLICY, effectivePolicy, policySchema } from './policy';
export { prunePoints, type PruneResult } from './prune';
export { retain, type RetentionCandidate, type RetentionDecision } from './retention';
export { runRecoveryPoints, runVmRecoveryPoints, type VmRunSummary } from './run';
export { recoveryPointSchedule } from './settings';
export { recoveryPointStores, type RecoveryPointStores } from './stores';
export * from './types';

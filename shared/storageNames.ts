/** Every container, table and queue name tidemark uses, in one place (DESIGN §5). Lower-case. */

export const CONTAINERS = {
  /** Source region: source VM disks, page blobs `{rg}/{vm}/{disk}`. */
  disks: 'disks',
  /** Cache account (source region): deltas awaiting apply. */
  cache: 'cache',
  /** Target region: replica disks, page blobs `{rg}/{vm}/{disk}`; their snapshots are recovery points. */
  replicas: 'replicas',
  /** Target region: applied deltas kept for the journal retention window. */
  journal: 'journal',
  /** Target region: deltas that failed validation, with the reason in metadata. */
  quarantine: 'quarantine',
  /** Target region: one blob per VM whose lease serialises apply and recovery-point cuts. */
  locks: 'locks',
  /** Source region: per-VM agent configuration written by enable-replication. */
  agentConfig: 'agent-config',
  /**
   * Any region, ARM fabric only: failed-over disks written as fixed VHDs `{rg}/{vm}/{tag}/{disk}`
   * before Azure imports them into managed disks (shared/fabric/arm/armDiskAccess.ts).
   */
  diskImports: 'disk-imports',
} as const;

export const TABLES = {
  protectedItems: 'ProtectedItems',
  recoveryPoints: 'RecoveryPoints',
  jobs: 'Jobs',
  fabric: 'Fabric',
  networkMappings: 'NetworkMappings',
  /** Target region: one row per Azure Monitor alert id the alert hook acted on (docs/alerts.md). */
  alerts: 'Alerts',
} as const;

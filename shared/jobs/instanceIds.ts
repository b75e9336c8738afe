/**
 * Job ids. Enable replication has one instance id per VM (`enable-{rg}-{vm}`, lower-case as Azure
 * names compare), so the Durable engine itself refuses a second start while one runs. The other
 * workflows are guarded by the protected item's claim (claims.ts) and get a new id per run
 * (`failover-{rg}-{vm}-{time}`), so every run stays readable as a job.
 */
import type { JobKind } from './types';

const PREFIXES: Record<JobKind, string> = {
  EnableReplication: 'enable',
  Failover: 'failover',
  TestFailover: 'testfailover',
  TestFailoverCleanup: 'testcleanup',
  CommitFailover: 'commit',
  Reprotect: 'reprotect',
  DisableReplication: 'disable',
};

export function jobInstanceId(kind: JobKind, resourceGroup: string, vm: string): string {
  return `${PREFIXES[kind]}-${resourceGroup}-${vm}`.toLowerCase();
}

/** A new job id for one run of `kind` started at `nowMs` (base-36 time, so ids sort by start). */
export function newJobId(kind: JobKind, resourceGroup: string, vm: string, nowMs: number): string {
  return `${jobInstanceId(kind, resourceGroup, vm)}-${nowMs.toString(36)}`;
}

/**
 * Disable replication (DESIGN §2), as Site Recovery runs it: the job (id `disable-{rg}-{vm}-{time}`)
 * starts from a protected item its start request claimed (claimedJob.ts), which shows `Disabling`
 * meanwhile, so the applier and the recovery-point timer leave it alone. All I/O is in
 * disable/*.activities.ts; this file only decides.
 *
 *   Prerequisites check ──▶ Stopping replication ──────────▶ Removing replicas and ──▶ Removing the
 *   (the claim is this       (agent config deleted in the     recovery points            protected item
 *    job's)                   source region; wait until the   (points: rows, then        (its row, then
 *                             agent reports it stopped: 2 s    snapshots, under the       the VM's lock
 *                             timer, 2 min at most; source     lease; replicas; journal;  blob) ──▶ Succeeded
 *                             down: warn, go on)               quarantine; source cache)
 *
 *   any step fails ──▶ step Failed ──▶ the item goes back to its state from before (releaseOnFailure)
 *                      ──▶ job Failed; every step is idempotent, so disabling again is safe.
 *
 * The source VM, and a VM that failover made, stay as they are.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import { type ClaimedJobInput, type ClaimedRef, claimedRef, releaseOnFailure } from './claimedJob';
import {
  type AgentStopStatus,
  DISABLE_ACTIVITIES as A,
  type DisableReplicationResult,
  type DisableSubject,
  type RemovedCounts,
  type SourceOutcome,
} from './disable/types';
import { JobSteps, type StepBody } from './jobSteps';

export const DISABLE_STEPS = [
  'Prerequisites check',
  'Stopping replication',
  'Removing replicas and recovery points',
  'Removing the protected item',
] as const;

const STOPPING = 'Stopping replication';
const REMOVING = 'Removing replicas and recovery points';
const POLL_MS = 2000;
const AGENT_STOP_WAIT_MS = 2 * 60_000;
/** An agent whose status has not changed this long is not running (it reports every 10 s). */
const AGENT_SILENT_MS = 45_000;

function unreachable(ref: ClaimedRef, error: string, what: string): string {
  return `The source region of VM ${ref.resourceGroup}/${ref.vm} did not answer (${error}), so ${what}.`;
}

/** Waits until the agent reports it stopped, so no delta or status of it lands after the clean-up. */
function* waitForAgentToStop(job: JobSteps, ref: ClaimedRef): StepBody<void> {
  const deadline = job.now() + AGENT_STOP_WAIT_MS;
  let lastUpdate: string | null | undefined;
  let lastChange = job.now();
  for (;;) {
    const status = yield* job.call<SourceOutcome<AgentStopStatus>>(A.agentStatus, ref);
    if (!status.reachable) {
      job.warn(STOPPING, unreachable(ref, status.error, 'whether its agent stopped is not known'));
      return;
    }
    if (status.stopped) return;
    if (status.updatedAt !== lastUpdate) {
      lastUpdate = status.updatedAt;
      lastChange = job.now();
    }
    const silent = job.now() - lastChange >= AGENT_SILENT_MS;
    if (silent || job.now() >= deadline) {
      job.warn(
        STOPPING,
        `The mobility agent of VM ${ref.resourceGroup}/${ref.vm} did not confirm that it stopped replicating (it last reported ${status.health ?? 'nothing'} at ${status.updatedAt ?? 'no time'}); it finds no config when it polls again and stays off.`,
      );
      return;
    }
    yield* job.sleep(POLL_MS);
  }
}

function* stopReplication(job: JobSteps, ref: ClaimedRef): StepBody<void> {
  const stopped = yield* job.call<SourceOutcome<{ deleted: boolean }>>(A.stopAgent, ref);
  if (!stopped.reachable) {
    job.warn(
      STOPPING,
      unreachable(
        ref,
        stopped.error,
        `its agent config is still there and its agent goes on shipping deltas nothing applies. Once the region is back, delete the blob agent-config/${ref.resourceGroup}/${ref.vm}.json of its storage account`,
      ),
    );
    return;
  }
  yield* waitForAgentToStop(job, ref);
}

function* removeData(job: JobSteps, ref: ClaimedRef): StepBody<RemovedCounts> {
  const points = yield* job.call<{ recoveryPoints: number }>(A.removePoints, ref);
  const replicas = yield* job.call<{ replicas: number }>(A.removeReplicas, ref);
  const journal = yield* job.call<{ journalBlobs: number }>(A.removeJournal, ref);
  const cache = yield* job.call<SourceOutcome<{ cacheBlobs: number }>>(A.removeCache, ref);
  if (!cache.reachable) {
    job.warn(
      REMOVING,
      unreachable(
        ref,
        cache.error,
        `its deltas and agent status stay in the cache; once the region is back, delete the blobs under cache/${ref.resourceGroup}/${ref.vm}/ of its storage account`,
      ),
    );
  }
  return {
    recoveryPoints: points.recoveryPoints,
    replicas: replicas.replicas,
    journalBlobs: journal.journalBlobs,
    cacheBlobs: cache.reachable ? cache.cacheBlobs : 0,
  };
}

export function* disableReplication(context: OrchestrationContext): StepBody<DisableReplicationResult> {
  const input = context.df.getInput() as ClaimedJobInput;
  const ref = claimedRef(context, input);
  const job = new JobSteps(
    context,
    'DisableReplication',
    { resourceGroup: input.resourceGroup, name: input.vm },
    DISABLE_STEPS,
  );
  return yield* releaseOnFailure(job, ref, function* () {
    yield* job.step('Prerequisites check', () => job.call<DisableSubject>(A.prerequisites, ref));
    yield* job.step(STOPPING, () => stopReplication(job, ref));
    const removed = yield* job.step(REMOVING, () => removeData(job, ref));
    yield* job.step('Removing the protected item', () => job.call<void>(A.removeItem, ref));
    return job.succeed<DisableReplicationResult>({ removed });
  });
}

df.app.orchestration(JOB_KINDS.DisableReplication, disableReplication);

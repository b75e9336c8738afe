/**
 * Failover (DESIGN §2.4), and "change recovery point" of a failed-over VM, as Site Recovery runs them.
 * The start request claimed the protected item (shared/jobs/startClaimedJob.ts); the last step
 * releases it FailedOver, and any failure gives it back as it was. All I/O is in
 * failover/*.activities.ts; this file only decides.
 *
 *   Prerequisites check ──▶ Shutting down the source VM ──▶ Synchronizing latest data
 *   (claimed; target and     (skipped: shutdownSource false   (`latest` only: drain the cache, cut
 *    source VM known; target   or a change of point; failure   a point; source down: the newest
 *    VM name free; source      is a warning, not an error)     point, with a note)
 *    reachable?)                                                        │
 *   ┌───────────────────────────────────────────────────────────────────┘
 *   ▼
 *   Creating the target disks ──▶ Creating the network ──▶ Starting the replica VM
 *   (resolve the point; stop an     interface               (create or update the one VM,
 *    existing target VM and wait    (reuse the VM's NIC, or   Running; item FailedOver, apply
 *    for its agent; materialize     {vm}-nic in the mapped    off, failover record)
 *    the point into disks/)         subnet, source IP kept)          │
 *                                                                    ▼
 *                                                                Succeeded
 *
 *   any step fails ──▶ step Failed ──▶ item back to its state before the job ──▶ job Failed
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import { describeChoice, type RecoveryPointChoice } from '../shared/recoveryPoints/choice';
import type { PointSelector } from '../shared/recoveryPoints/resolvePoint';
import type { ResolvableChoice } from '../shared/workflows/failoverPoint';
import { shutdownWarning } from '../shared/workflows/failoverPoint';
import { claimedRef, releaseOnFailure } from './claimedJob';
import {
  FAILOVER_ACTIVITIES as A,
  type FailoverInput,
  type FailoverPlan,
  type FailoverResult,
  type NicOutcome,
  type PlannedRef,
  type ShutdownOutcome,
  type StopTargetOutcome,
  type SyncOutcome,
  type TargetDisks,
} from './failover/types';
import { JobSteps, type StepBody } from './jobSteps';

export const FAILOVER_STEPS = [
  'Prerequisites check',
  'Shutting down the source virtual machine',
  'Synchronizing latest data',
  'Creating the target disks',
  'Creating the network interface',
  'Starting the replica virtual machine',
] as const;

const [PREREQUISITES, SHUTDOWN, SYNC, DISKS, NIC, START] = FAILOVER_STEPS;

function* shutdownStep(job: JobSteps, planned: PlannedRef, shutdownSource: boolean): StepBody<void> {
  const { plan } = planned;
  if (!shutdownSource || plan.changingPoint) {
    job.skip(SHUTDOWN);
    return;
  }
  yield* job.step(SHUTDOWN, function* () {
    const out = yield* job.call<ShutdownOutcome>(A.shutdown, planned);
    if (!out.stopped) {
      job.warn(SHUTDOWN, shutdownWarning(plan.vmId, plan.sourceRegion, out.reason ?? 'no reason given'));
    } else if (out.agentStillRunning) {
      job.warn(
        SHUTDOWN,
        `The agent of VM ${plan.vmId} was still running 15 s after the shutdown; writes it had not shipped by then are not in the failed-over disks.`,
      );
    }
  });
}

function* syncStep(
  job: JobSteps,
  planned: PlannedRef,
  choice: RecoveryPointChoice,
): StepBody<SyncOutcome | undefined> {
  if (choice !== 'latest') {
    job.skip(SYNC);
    return undefined;
  }
  return yield* job.step(SYNC, function* () {
    const out = yield* job.call<SyncOutcome>(A.sync, planned);
    if (out.note) job.warn(SYNC, out.note);
    return out;
  });
}

function* disksStep(
  job: JobSteps,
  planned: PlannedRef,
  choice: RecoveryPointChoice,
  latest: SyncOutcome | undefined,
): StepBody<TargetDisks> {
  job.progress(DISKS, 0);
  const selector: PointSelector = latest
    ? { pointId: latest.pointId }
    : yield* job.call<PointSelector>(A.resolvePoint, { ...planned, choice: choice as ResolvableChoice });
  const stopped = yield* job.call<StopTargetOutcome>(A.stopTarget, planned);
  if (!stopped.agentStopped) {
    const vm = `${planned.plan.targetVm.resourceGroup}/${planned.plan.targetVm.name}`;
    job.warn(
      DISKS,
      `The agent of VM ${vm} still served its disks 15 s after the VM was stopped; they were rewritten anyway.`,
    );
  }
  job.progress(DISKS, 10);
  return yield* job.call<TargetDisks>(A.materialize, { ...planned, selector });
}

function* nicStep(job: JobSteps, planned: PlannedRef): StepBody<NicOutcome> {
  const out = yield* job.call<NicOutcome>(A.nic, planned);
  for (const warning of out.warnings) job.warn(NIC, warning);
  return out;
}

function failoverResult(
  plan: FailoverPlan,
  disks: TargetDisks,
  nic: NicOutcome,
  choice: RecoveryPointChoice,
  note: string | undefined,
): FailoverResult {
  const { region, resourceGroup, name } = plan.targetVm;
  return {
    targetVm: { region, resourceGroup, name },
    recoveryPoint: {
      id: disks.point.id,
      type: disks.point.type,
      time: new Date(disks.point.time).toISOString(),
    },
    ...(typeof choice === 'object' && 'time' in choice
      ? { replayedThrough: new Date(disks.replayedThrough.time).toISOString() }
      : {}),
    privateIp: nic.privateIp,
    ...(note ? { note } : {}),
  };
}

export function* failover(context: OrchestrationContext): StepBody<FailoverResult> {
  const input = context.df.getInput() as FailoverInput;
  const ref = claimedRef(context, input);
  const job = new JobSteps(
    context,
    'Failover',
    { resourceGroup: input.resourceGroup, name: input.vm },
    FAILOVER_STEPS,
  );
  const choice = input.recoveryPoint;

  return yield* releaseOnFailure(job, ref, function* () {
    const plan = yield* job.step(PREREQUISITES, () => job.call<FailoverPlan>(A.prerequisites, ref));
    const planned: PlannedRef = { ref, plan };
    yield* shutdownStep(job, planned, input.shutdownSource);
    const latest = yield* syncStep(job, planned, choice);
    const disks = yield* job.step(DISKS, () => disksStep(job, planned, choice, latest));
    const nic = yield* job.step(NIC, () => nicStep(job, planned));
    yield* job.step(START, () =>
      job.call<{ at: number }>(A.start, {
        ...planned,
        nic,
        disks,
        choice: describeChoice(choice),
        ...(latest?.note ? { note: latest.note } : {}),
      }),
    );
    return job.succeed(failoverResult(plan, disks, nic, choice, latest?.note));
  });
}

df.app.orchestration(JOB_KINDS.Failover, failover);

/**
 * Enable replication (DESIGN §2.1), as Site Recovery runs it, one job step after another. The job is
 * this instance (id `enable-{rg}-{vm}`); its steps live in the custom status (jobSteps.ts). All I/O
 * is in enable/*.activities.ts; this file only decides.
 *
 *   Prerequisites check ──▶ Identifying replication target ──▶ Enable replication
 *   (VM running, not        (target RG/VNet/avset `-asr`,       (item Enabling, gen N, apply off;
 *    protected, gen N)        network mapping both ways)          replicas; cache; agent config)
 *                                                                        │
 *   ┌────────────────────────────────────────────────────────────────────┘
 *   ▼
 *   Waiting for the agent ──▶ Initial replication ──▶ Start continuous ──▶ Creating the first
 *   (agent.json reports       (item InitialReplication;  replication         recovery point
 *    gen N; 2 s timer,         each disk's allocated     (apply on; drain     (once watermark ≥ 1;
 *    5 min at most)            ranges, one activity      the cache)            2 s timer, 2 min)
 *                              per disk, progress)                                 │
 *                                                                                  ▼
 *                                                                     item Protected ──▶ Succeeded
 *
 *   any step fails ──▶ step Failed (its reason) ──▶ job Failed; the item stays Enabling or
 *                      InitialReplication, and enabling again starts over with generation N+1.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import type { ProtectionTarget } from '../shared/protectedItems';
import type { CopyDiskResult } from './enable/copyDisk.activities';
import {
  ENABLE_ACTIVITIES as A,
  type EnableReplicationInput,
  type EnableReplicationResult,
  type EnableSource,
  type VmGeneration,
} from './enable/types';
import { firstRecoveryPoint, waitForAgent } from './enable/waits';
import { type StepBody, JobSteps } from './jobSteps';

export const ENABLE_STEPS = [
  'Prerequisites check',
  'Identifying replication target',
  'Enable replication',
  'Waiting for the agent',
  'Initial replication',
  'Start continuous replication',
  'Creating the first recovery point',
] as const;

function* initialReplication(job: JobSteps, source: EnableSource, vm: VmGeneration): StepBody<void> {
  yield* job.call<void>(A.setState, vm);
  const total = source.disks.reduce((sum, d) => sum + d.sizeBytes, 0) || 1;
  let done = 0;
  job.progress('Initial replication', 0);
  for (const disk of source.disks) {
    yield* job.call<CopyDiskResult>(A.copyDisk, { ...vm, disk });
    done += disk.sizeBytes;
    job.progress('Initial replication', (done / total) * 100);
  }
}

export function* enableReplication(context: OrchestrationContext): StepBody<EnableReplicationResult> {
  const input = context.df.getInput() as EnableReplicationInput;
  const job = new JobSteps(
    context,
    'EnableReplication',
    { resourceGroup: input.resourceGroup, name: input.vm },
    ENABLE_STEPS,
  );

  const source = yield* job.step('Prerequisites check', () => job.call<EnableSource>(A.prerequisites, input));
  const vm: VmGeneration = {
    resourceGroup: source.resourceGroup,
    vm: source.vm,
    generation: source.generation,
  };

  const target = yield* job.step('Identifying replication target', () =>
    job.call<ProtectionTarget>(A.target, { source, overrides: input.overrides }),
  );

  yield* job.step('Enable replication', function* () {
    yield* job.call<void>(A.register, { source, target, policy: input.policy });
    yield* job.call<void>(A.replicas, { ...vm, disks: source.disks });
    yield* job.call<void>(A.agentConfig, vm);
  });

  yield* job.step('Waiting for the agent', () => waitForAgent(job, vm));
  yield* job.step('Initial replication', () => initialReplication(job, source, vm));
  yield* job.step('Start continuous replication', () => job.call<number>(A.startApply, vm));
  const point = yield* job.step('Creating the first recovery point', function* () {
    const first = yield* firstRecoveryPoint(job, vm);
    yield* job.call<void>(A.protect, { ...vm, lastRecoveryPointAt: first.cutAt });
    return first;
  });

  return job.succeed<EnableReplicationResult>({
    protectedItem: { resourceGroup: source.resourceGroup, vm: source.vm },
    targetResourceGroup: target.resourceGroup,
    targetVnet: target.vnet,
    targetAvailabilitySet: target.availabilitySet ?? null,
    generation: source.generation,
    firstRecoveryPoint: point.pointId ?? null,
  });
}

df.app.orchestration(JOB_KINDS.EnableReplication, enableReplication);

/**
 * "Creating the test disks": the recovery point asked for (newest, newest app-consistent, by id, or
 * as of a time with the journal replayed) materialized as the test VM's disks through the region's
 * disk access: locally new page blobs `{targetRg}/{vm}-test/{disk}` in the `disks` container, each
 * with its `lun` metadata so the test VM's agent serves them in order; in Azure managed disks. The
 * replicas and their snapshots are only read: replication goes on. Idempotent: a second run writes
 * the same disks again. A newest point pruned while it is copied is picked again.
 */
import { isTidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import { materializeAt, type MaterializeResult } from '../../shared/recoveryPoints/materialize';
import { pickRecoveryPoint } from '../../shared/workflows/pickRecoveryPoint';
import { madeDisk, publishOptions } from '../../shared/workflows/replicatedDisks';
import { testVmName } from '../../shared/workflows/testFailoverNames';
import { claimedServices } from './services.activities';
import type { PlanRef, TestDisks } from './types';

export interface TestDisksInput extends PlanRef {
  choice: RecoveryPointChoice;
}

const ATTEMPTS = 3;

export async function createTestDisks(input: TestDisksInput, log: Logger): Promise<TestDisks> {
  const { ref, plan, choice } = input;
  const { s, item } = await claimedServices(ref);
  const vmId = `${ref.resourceGroup}/${ref.vm}`;
  const access = s.fabric.diskAccess(plan.targetRegion);
  const target = await access.writeTarget(plan.targetResourceGroup, testVmName(ref.vm), ref.jobId);
  const deps = { ...s.points, logger: log };
  let result: MaterializeResult | undefined;
  for (let attempt = 1; !result; attempt++) {
    const points = await s.points.catalog.list(ref.resourceGroup, ref.vm);
    const selector = pickRecoveryPoint(vmId, points, choice);
    try {
      result = await materializeAt(
        deps,
        { resourceGroup: ref.resourceGroup, vm: ref.vm, ...selector },
        target,
      );
    } catch (err) {
      // A named choice means "the newest": if that point was pruned meanwhile, take the newest again.
      if (typeof choice !== 'string' || !isTidemarkError(err, 'NotFound') || attempt >= ATTEMPTS) throw err;
    }
  }
  const disks = await access.publish(
    plan.targetResourceGroup,
    testVmName(ref.vm),
    ref.jobId,
    result.disks,
    publishOptions(item.disks),
  );
  log.info('Test disks created', { vm: vmId, point: result.point.id, disks: result.disks.length });
  return {
    pointId: result.point.id,
    pointType: result.point.type,
    pointTime: result.replayedThrough.time,
    disks: disks.map(madeDisk),
  };
}

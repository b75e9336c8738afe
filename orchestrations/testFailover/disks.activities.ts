/**
 * "Creating the test disks": the recovery point asked for (newest, newest app-consistent, by id, or
 * as of a time with the journal replayed) materialized as new page blobs `{targetRg}/{vm}-test/{disk}`
 * in the target region's `disks` container, each with its `lun` metadata so the test VM's agent
 * serves them in order. The replicas and their snapshots are only read: replication goes on.
 * Idempotent: a second run writes the same blobs again. A newest point pruned while it is copied is
 * picked again.
 */
import { isTidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import { materializeAt, type MaterializeResult } from '../../shared/recoveryPoints/materialize';
import { pickRecoveryPoint } from '../../shared/workflows/pickRecoveryPoint';
import { testDiskPrefix } from '../../shared/workflows/testFailoverNames';
import { claimedServices } from './services.activities';
import type { PlanRef, TestDisks } from './types';

export interface TestDisksInput extends PlanRef {
  choice: RecoveryPointChoice;
}

const ATTEMPTS = 3;

export async function createTestDisks(input: TestDisksInput, log: Logger): Promise<TestDisks> {
  const { ref, plan, choice } = input;
  const { s } = await claimedServices(ref);
  const vmId = `${ref.resourceGroup}/${ref.vm}`;
  const container = s.fabric.disks(plan.targetRegion);
  const prefix = testDiskPrefix(plan.targetResourceGroup, ref.vm);
  const deps = { ...s.points, logger: log };
  let result: MaterializeResult | undefined;
  for (let attempt = 1; !result; attempt++) {
    const points = await s.points.catalog.list(ref.resourceGroup, ref.vm);
    const selector = pickRecoveryPoint(vmId, points, choice);
    try {
      result = await materializeAt(
        deps,
        { resourceGroup: ref.resourceGroup, vm: ref.vm, ...selector },
        { container, prefix },
      );
    } catch (err) {
      // A named choice means "the newest": if that point was pruned meanwhile, take the newest again.
      if (typeof choice !== 'string' || !isTidemarkError(err, 'NotFound') || attempt >= ATTEMPTS) throw err;
    }
  }
  for (const disk of result.disks) {
    await container.getPageBlobClient(disk.blobName).setMetadata({ lun: String(disk.lun) });
  }
  log.info('Test disks created', { vm: vmId, point: result.point.id, disks: result.disks.length });
  return {
    pointId: result.point.id,
    pointType: result.point.type,
    pointTime: result.replayedThrough.time,
    disks: result.disks
      .map((d) => ({ lun: d.lun, name: d.name, blobName: d.blobName, sizeBytes: d.sizeBytes }))
      .sort((a, b) => a.lun - b.lun),
  };
}

/**
 * Failover survives its host crashing: the host (a child process) is SIGKILLed while the failover
 * makes the target disks and again while it starts the VM, and started again on the same task hub,
 * data folder and settings. The job then finishes from its history, re-running the activities that
 * were cut off, and there is exactly one failed-over VM with the point's data. Build first
 * (`npm run build`; npm test does it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../../shared/jobs/types';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { checkTools } from '../../helpers/nbdTools';
import { type CrashableStack, failoverThroughCrashes, startCrashableStack } from './crashableStack';
import {
  cutPoint,
  expectPatterns,
  type Pattern,
  replicasHold,
  westusFabric,
  writePatterns,
} from './failoverHelpers';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const RG = 'crash-rg';
const VM = 'app1';
const TARGET_RG = 'crash-rg-asr';
const A: Pattern[] = [
  ['os', 0x47, 0, 2 * MiB],
  ['data', 0x48, MiB, 256 * 1024],
];

describe.skipIf(tools.skip)(`failover across a host crash${tools.note}`, () => {
  let stack: CrashableStack;
  let point: RecoveryPoint;

  beforeAll(async () => {
    stack = await startCrashableStack();
    await stack.protectVm(RG, VM, [
      { name: 'os', sizeMiB: 8 },
      { name: 'data', sizeMiB: 4 },
    ]);
    await writePatterns(await stack.nbdPort(RG, VM), A);
    await replicasHold(stack.target.connectionString, RG, VM, A);
    point = await cutPoint(
      { source: stack.source.connectionString, target: stack.target.connectionString },
      RG,
      VM,
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  }, 120_000);

  it('finishes after the host is killed mid-failover, with exactly one target VM', async () => {
    const { id } = await failoverThroughCrashes(stack, {
      resourceGroup: RG,
      vm: VM,
      targetResourceGroup: TARGET_RG,
      pointId: point.id,
    });

    const fabric = westusFabric(stack.target.connectionString);
    expect((await fabric.virtualMachines.list(TARGET_RG)).map((v) => [v.name, v.powerState])).toEqual([
      [VM, 'Running'],
    ]);
    expect((await fabric.networkInterfaces.list(TARGET_RG)).map((n) => [n.name, n.vm])).toEqual([
      [`${VM}-nic`, VM],
    ]);
    const items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    const item = await items.get(RG, VM);
    expect(item).toMatchObject({
      state: 'FailedOver',
      applyEnabled: false,
      failover: { jobId: id, pointId: point.id },
    });
    expect(item?.activeJob).toBeUndefined();
    await expectPatterns(await stack.nbdPort(TARGET_RG, VM), A);
    expect(
      ((await stack.api('GET', 'jobs')).body.jobs as Job[]).filter((j) => j.kind === 'Failover'),
    ).toHaveLength(1);
  }, 240_000);
});

/**
 * Failover in ARM mode survives its host crashing: the host (a child process, TIDEMARK_FABRIC=arm
 * against the fake Resource Manager in the test process) is SIGKILLed while the failover imports the
 * target disks and again while it starts the VM, and started again on the same task hub. The job
 * finishes from its history, re-running what was cut off; because every name derives from the job,
 * there is exactly one VM, one managed disk per disk (nothing imported twice, no import blob left),
 * each holding the point's data. Build first (`npm run build`; npm test does it).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmFabricStore } from '../../../shared/fabric/arm/armFabricStore';
import type { Job } from '../../../shared/jobs/types';
import { RecordingLogger } from '../../../shared/logger';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../../shared/storageNames';
import { diskPattern } from '../../helpers/armDisks';
import { armModeSettings, seedSourceVm, useRegionStorage } from '../../helpers/armEnvironment';
import { startArmVmAgent, type ArmVmAgent } from '../../helpers/armVmAgent';
import { FakeArm, fakeArmStore } from '../../helpers/fakeArm';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';
import { type CrashableStack, failoverThroughCrashes, startCrashableStack } from './crashableStack';
import { cutPoint } from './failoverHelpers';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const RG = 'crash-rg';
const VM = 'app1';
const TARGET_RG = 'crash-rg-asr';

describe.skipIf(tools.skip)(`failover on the ARM fabric across host crashes${tools.note}`, () => {
  let fake: FakeArm;
  let stack: CrashableStack;
  let east: ArmFabricStore;
  let west: ArmFabricStore;
  let agent: ArmVmAgent | undefined;
  let point: RecoveryPoint;
  const model = { os: diskPattern(4 * MiB, 11), data: diskPattern(2 * MiB, 12) };

  beforeAll(async () => {
    fake = await FakeArm.start();
    fake.requireToken = true;
    stack = await startCrashableStack({ settings: armModeSettings(fake), vmRunners: false });
    await useRegionStorage(fake, {
      eastus: stack.source.connectionString,
      westus: stack.target.connectionString,
    });
    east = fakeArmStore(fake, 'eastus').store;
    west = fakeArmStore(fake, 'westus').store;
    await seedSourceVm(fake, east, {
      resourceGroup: RG,
      name: VM,
      disks: [
        { name: `${VM}-os`, data: model.os },
        { name: `${VM}-data`, data: model.data },
      ],
    });
    agent = await startArmVmAgent(
      fake,
      east,
      { resourceGroup: RG, name: VM },
      {
        connectionString: stack.source.connectionString,
        logger: new RecordingLogger(),
      },
    );
    const started = await stack.api('POST', `vms/${RG}/${VM}/enable-replication`, {});
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await stack.waitForJob((started.body.job as Job).id, 90_000);

    // A write on each disk, replicated, then a point.
    for (const [lun, disk, byte] of [
      [0, 'os', 0x47],
      [1, 'data', 0x48],
    ] as const) {
      const r = await qemuIo(agent.port, agent.exports[lun]!, [`write -P ${byte} ${MiB} ${256 * 1024}`]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      model[disk].fill(byte, MiB, MiB + 256 * 1024);
    }
    const replicas = BlobServiceClient.fromConnectionString(stack.target.connectionString).getContainerClient(
      CONTAINERS.replicas,
    );
    for (const disk of ['os', 'data'] as const) {
      const blob = replicas.getBlobClient(`${RG}/${VM}/${VM}-${disk}`);
      await waitFor(async () => (await blob.downloadToBuffer(0, model[disk].length)).equals(model[disk]), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `replica ${disk} to hold the writes`,
      });
    }
    point = await cutPoint(
      { source: stack.source.connectionString, target: stack.target.connectionString },
      RG,
      VM,
    );
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    await fake?.close();
  }, 120_000);

  it('finishes after the host is killed mid-failover, with one VM and one managed disk per disk', async () => {
    await failoverThroughCrashes(stack, {
      resourceGroup: RG,
      vm: VM,
      targetResourceGroup: TARGET_RG,
      pointId: point.id,
    });

    // One VM, on one managed disk per disk: every disk in the group is the VM's.
    const vms = await west.virtualMachines.list(TARGET_RG);
    expect(vms.map((v) => [v.name, v.powerState])).toEqual([[VM, 'Running']]);
    const attached = vms[0]!.disks.map((d) => d.blob.name.toLowerCase());
    const inGroup = (await west.managedDisks.list(TARGET_RG)).map((d) => d.id.toLowerCase());
    expect(inGroup.sort()).toEqual([...attached].sort());
    expect((await fake.diskBytes(attached[0]!)).equals(model.os)).toBe(true);
    expect((await fake.diskBytes(attached[1]!)).equals(model.data)).toBe(true);
    expect((await west.networkInterfaces.list(TARGET_RG)).map((n) => [n.name, n.vm])).toEqual([
      [`${VM}-nic`, VM],
    ]);

    // Nothing left over: no import blob, no snapshot, one failover job.
    const imports: string[] = [];
    const container = BlobServiceClient.fromConnectionString(
      stack.target.connectionString,
    ).getContainerClient(CONTAINERS.diskImports);
    if (await container.exists()) for await (const b of container.listBlobsFlat()) imports.push(b.name);
    expect(imports).toEqual([]);
    expect([...fake.resources.keys()].filter((k) => k.includes('/microsoft.compute/snapshots/'))).toEqual([]);
    expect(
      ((await stack.api('GET', 'jobs')).body.jobs as Job[]).filter((j) => j.kind === 'Failover'),
    ).toHaveLength(1);
  }, 240_000);
});

/**
 * A VM's whole disaster-recovery life through the local host (issue "Fabric and workflows", must
 * show): enable → writes over NBD → recovery points → failover with each recovery-point choice in
 * turn, changing the point before commit, the failed-over disks read over NBD each time equal to what
 * was written up to that point → commit → reprotect (only differing blocks travel) → writes on the
 * failed-over VM → failback onto the original VM → commit → reprotect forward again → disable. Every job's steps are watched
 * while it runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../shared/config';
import type { Job, JobStep } from '../../../shared/jobs/types';
import { silentLogger } from '../../../shared/logger';
import { requestAppConsistentBookmark } from '../../../shared/recoveryPoints/appConsistent';
import { cutRecoveryPoint } from '../../../shared/recoveryPoints/cut';
import { recoveryPointStores } from '../../../shared/recoveryPoints/stores';
import { SystemClock } from '../../../shared/clock';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools, nbdUri, qemuIo, runToolOk } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const tools = checkTools('qemu-io', 'nbdcopy');
const MiB = 1024 * 1024;
const KiB = 1024;
const SIZES = { os: 8 * MiB, data: 4 * MiB } as const;
type DiskName = keyof typeof SIZES;
type Model = Record<DiskName, Buffer>;

function emptyModel(): Model {
  return { os: Buffer.alloc(SIZES.os), data: Buffer.alloc(SIZES.data) };
}

function copyModel(m: Model): Model {
  return { os: Buffer.from(m.os), data: Buffer.from(m.data) };
}

describe.skipIf(tools.skip)(`a VM's whole DR life through the local host${tools.note}`, () => {
  let stack: WorkflowStack;
  const model = emptyModel();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-life-'));

  beforeAll(async () => {
    stack = await startWorkflowStack();
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  /** Writes `fill` over NBD to a VM's disk and into the model. */
  async function write(
    port: number,
    disk: DiskName,
    offset: number,
    length: number,
    fill: number,
    into = model,
  ) {
    const r = await qemuIo(port, disk, [`write -P ${fill} ${offset} ${length}`]);
    expect(r.code, r.stderr).toBe(0);
    into[disk].fill(fill, offset, offset + length);
  }

  /** A running VM's disks as its agent serves them over NBD. */
  async function readOverNbd(rg: string, vm: string): Promise<Model> {
    const nbd = await stack.nbdOf(rg, vm, 30_000);
    const out = emptyModel();
    for (const disk of Object.keys(SIZES) as DiskName[]) {
      const file = path.join(tmp, `${rg}-${vm}-${disk}-${Date.now()}.img`);
      await runToolOk('nbdcopy', [nbdUri(nbd.port, disk), file]);
      out[disk] = fs.readFileSync(file);
      fs.rmSync(file);
    }
    return out;
  }

  /** Waits until the replicas of `rg/vm` equal its disks (`from` → `to` storage). */
  async function converged(rg: string, vm: string, from: string, to: string): Promise<void> {
    const source = BlobServiceClient.fromConnectionString(from);
    const target = BlobServiceClient.fromConnectionString(to);
    await waitFor(
      async () => {
        for (const disk of Object.keys(SIZES)) {
          const name = `${rg}/${vm}/${disk}`;
          const [a, b] = await Promise.all([
            source.getContainerClient(CONTAINERS.disks).getBlobClient(name).downloadToBuffer(),
            target.getContainerClient(CONTAINERS.replicas).getBlobClient(name).downloadToBuffer(),
          ]);
          if (!a.equals(b)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `replicas of ${rg}/${vm} to converge` },
    );
  }

  /** Starts a workflow, watches its steps while it runs, and returns the finished job. */
  async function run(route: string, body: unknown): Promise<{ job: Job; seen: JobStep[][] }> {
    const started = await stack.api('POST', route, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = (started.body.job as Job).id;
    expect(started.headers.get('location')).toBe(`/api/jobs/${encodeURIComponent(id)}`);
    const seen: JobStep[][] = [];
    const job = await waitFor(
      async () => {
        const j = (await stack.api('GET', `jobs/${encodeURIComponent(id)}`)).body as unknown as Job;
        seen.push(j.steps);
        return j.state === 'InProgress' ? undefined : j;
      },
      { timeoutMs: 90_000, intervalMs: 100, what: `job ${id}` },
    );
    expect(job.state, `${job.error}\n${JSON.stringify(job.steps, null, 1)}`).toBe('Succeeded');
    for (const step of job.steps) expect(['Succeeded', 'Skipped'], step.name).toContain(step.state);
    return { job, seen };
  }

  function expectDisks(actual: Model, expected: Model, what: string): void {
    for (const disk of Object.keys(SIZES) as DiskName[]) {
      expect(actual[disk].equals(expected[disk]), `${what}: disk ${disk}`).toBe(true);
    }
  }

  it('enables, fails over with every recovery-point choice, commits, reprotects, fails back and disables', async () => {
    const settings = {
      TIDEMARK_SOURCE_STORAGE: stack.source.connectionString,
      TIDEMARK_TARGET_STORAGE: stack.target.connectionString,
    };
    const points = recoveryPointStores(loadConfig(settings));
    const cut = async (): Promise<string> => {
      const result = await cutRecoveryPoint(
        { ...points, clock: new SystemClock(), logger: silentLogger },
        'life-rg',
        'app1',
        'CrashConsistent',
        { leaseWaitMs: 10_000 },
      );
      if (!('point' in result)) throw new Error(`no point: ${result.outcome}`);
      return result.point.id;
    };

    // Enable.
    const enabled = await stack.protectVm({
      resourceGroup: 'life-rg',
      vm: 'app1',
      vnet: 'life-vnet',
      subnet: 'app',
      disksMiB: [
        { name: 'os', sizeMiB: 8 },
        { name: 'data', sizeMiB: 4 },
      ],
    });
    expect(enabled.state).toBe('Succeeded');
    const source = await stack.nbdOf('life-rg', 'app1');
    const east = stack.source.connectionString;
    const west = stack.target.connectionString;

    // A, point P1; B (time T_B); C, app-consistent point; D with no point.
    await write(source.port, 'os', 0, 1 * MiB, 0x11);
    await write(source.port, 'data', 0, 512 * KiB, 0x21);
    await converged('life-rg', 'app1', east, west);
    const p1 = await cut();
    const afterA = copyModel(model);
    await write(source.port, 'os', 1 * MiB, 1 * MiB, 0x12);
    await write(source.port, 'data', 512 * KiB, 512 * KiB, 0x22);
    await converged('life-rg', 'app1', east, west);
    const timeB = new Date(Date.now()).toISOString();
    const afterB = copyModel(model);
    await new Promise((r) => setTimeout(r, 50));
    await write(source.port, 'os', 2 * MiB, 1 * MiB, 0x13);
    await converged('life-rg', 'app1', east, west);
    const agentConfig = BlobServiceClient.fromConnectionString(east).getContainerClient(
      CONTAINERS.agentConfig,
    );
    expect(await requestAppConsistentBookmark(agentConfig, 'life-rg', 'app1')).toBe(true);
    await waitFor(
      async () => (await points.catalog.list('life-rg', 'app1')).some((p) => p.type === 'AppConsistent'),
      { timeoutMs: 20_000, intervalMs: 200, what: 'an app-consistent point' },
    );
    const afterC = copyModel(model);
    await write(source.port, 'os', 3 * MiB, 512 * KiB, 0x14);
    await converged('life-rg', 'app1', east, west);
    const afterD = copyModel(model);

    const listed = await stack.api('GET', 'vms/life-rg/app1/recovery-points');
    expect(listed.status).toBe(200);
    const ids = (listed.body.recoveryPoints as { id: string }[]).map((p) => p.id);
    expect(ids).toContain(p1);

    // latest: shuts the source down, drains the cache and cuts a point, so D is in.
    const latest = await run('vms/life-rg/app1/failover', { recoveryPoint: 'latest', shutdownSource: true });
    expect(latest.seen.some((steps) => steps.some((s) => s.state === 'InProgress'))).toBe(true);
    expect(latest.job.result).toMatchObject({
      targetVm: { region: 'westus', resourceGroup: 'life-rg-asr', name: 'app1' },
    });
    expectDisks(await readOverNbd('life-rg-asr', 'app1'), afterD, 'latest');

    // Change the point before commit: by id, by time (point + journal replay), app-consistent.
    await run('vms/life-rg/app1/failover', { recoveryPoint: { id: p1 } });
    expectDisks(await readOverNbd('life-rg-asr', 'app1'), afterA, `point ${p1}`);
    await run('vms/life-rg/app1/failover', { recoveryPoint: { time: timeB } });
    expectDisks(await readOverNbd('life-rg-asr', 'app1'), afterB, `time ${timeB}`);
    await run('vms/life-rg/app1/failover', { recoveryPoint: 'latestAppConsistent' });
    const failedOver = await readOverNbd('life-rg-asr', 'app1');
    expectDisks(failedOver, afterC, 'latestAppConsistent');
    await run('vms/life-rg/app1/failover', { recoveryPoint: 'latestProcessed' });
    expectDisks(await readOverNbd('life-rg-asr', 'app1'), afterD, 'latestProcessed');
    await run('vms/life-rg/app1/failover', { recoveryPoint: 'latestAppConsistent' });
    const vms = (await stack.api('GET', 'vms')).body.vms as { resourceGroup: string; name: string }[];
    expect(
      vms
        .filter((v) => v.name === 'app1')
        .map((v) => v.resourceGroup)
        .sort(),
    ).toEqual(['life-rg', 'life-rg-asr']);

    expect((await stack.api('GET', 'vms/life-rg/app1')).body.powerState).toBe('Stopped');

    // Commit: the points go.
    await run('vms/life-rg/app1/commit-failover', {});
    expect((await stack.api('GET', 'vms/life-rg/app1/recovery-points')).body.recoveryPoints).toEqual([]);

    // Reprotect: the failed-over VM replicates back; its disks differ from the old ones only by D.
    const reprotected = await run('vms/life-rg/app1/reprotect', {});
    const r = reprotected.job.result as {
      sentBytes: number;
      clearedBytes: number;
      comparedBytes: number;
      protectedItem: object;
    };
    expect(r.protectedItem).toMatchObject({ resourceGroup: 'life-rg-asr', vm: 'app1', region: 'westus' });
    // D (512 KiB of the os disk) is on the old disk but not in the app-consistent point: cleared.
    expect(r.sentBytes).toBe(0);
    expect(r.clearedBytes).toBe(512 * KiB);
    expect(r.comparedBytes).toBeGreaterThan(r.clearedBytes);
    expect((await stack.api('GET', 'vms/life-rg/app1')).body.protectedItem ?? null).toBeNull();
    const listed2 = (await stack.api('GET', 'vms')).body.vms as {
      resourceGroup: string;
      name: string;
      protection: { state: string } | null;
    }[];
    expect(listed2.find((v) => v.resourceGroup === 'life-rg-asr')?.protection?.state).toBe('Protected');
    expect(listed2.find((v) => v.resourceGroup === 'life-rg')?.protection).toBeNull();

    // Writes on the failed-over VM replicate back to the original region.
    const back = await stack.nbdOf('life-rg-asr', 'app1');
    const expected = copyModel(afterC);
    await write(back.port, 'data', 1 * MiB, 256 * KiB, 0x31, expected);
    await write(back.port, 'os', 5 * MiB, 64 * KiB, 0x32, expected);
    await converged('life-rg-asr', 'app1', west, east);

    // Failback onto the original VM, which comes up with the failed-over VM's data.
    const failback = await run('vms/life-rg-asr/app1/failover', {
      recoveryPoint: 'latest',
      shutdownSource: true,
    });
    expect(failback.job.result).toMatchObject({
      targetVm: { region: 'eastus', resourceGroup: 'life-rg', name: 'app1' },
    });
    expectDisks(await readOverNbd('life-rg', 'app1'), expected, 'failback');
    const original = (await stack.api('GET', 'vms/life-rg/app1')).body;
    expect(original.powerState).toBe('Running');
    expect((await stack.api('GET', 'vms/life-rg-asr/app1')).body.powerState).toBe('Stopped');
    await run('vms/life-rg-asr/app1/commit-failover', {});

    // Reprotect once more: the original VM replicates forward again, in a new generation.
    const forward = await run('vms/life-rg-asr/app1/reprotect', {});
    expect(forward.job.result).toMatchObject({
      protectedItem: { resourceGroup: 'life-rg', vm: 'app1', region: 'eastus' },
      direction: 'forward',
    });
    expect((forward.job.result as { generation: number }).generation).toBeGreaterThan(1);
    const again = await stack.nbdOf('life-rg', 'app1');
    await write(again.port, 'os', 6 * MiB, 64 * KiB, 0x41, expected);
    await converged('life-rg', 'app1', east, west);

    // Disable: the item, its replicas and points go; both VMs stay.
    await run('vms/life-rg/app1/disable-replication', {});
    expect((await stack.api('POST', 'vms/life-rg/app1/failover', {})).status).toBe(404);
    expect((await stack.api('POST', 'vms/life-rg-asr/app1/failover', {})).status).toBe(404);
    expect((await stack.api('GET', 'vms/life-rg/app1')).status).toBe(200);
    expect((await stack.api('GET', 'vms/life-rg-asr/app1')).status).toBe(200);
  }, 300_000);
});

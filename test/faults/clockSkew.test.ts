/**
 * Fault 6: the source's clock 5 minutes off the host's, both ways. `ahead`'s agent (started by the
 * VM runner, whose clock is 5 minutes fast) is enabled through the workflow; `behind`'s agent (5
 * minutes slow) replicates a VM protected by hand. Both write a steady workload. Replication and
 * recovery points stay exact; any-point-in-time picks deltas by the source's own times; RPO shows the
 * skew: it is now (host) − the newest applied write's time (source), so a slow source reads about
 * 5 minutes too high and a fast one reads 0 (it is never negative).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../agent/agent';
import { loadConfig } from '../../shared/config';
import { RecordingLogger } from '../../shared/logger';
import type { ProtectedItem } from '../../shared/protectedItems';
import { materializeAt } from '../../shared/recoveryPoints/materialize';
import { recoveryPointStores } from '../../shared/recoveryPoints/stores';
import type { RecoveryPoint } from '../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../shared/storageNames';
import { waitFor } from '../helpers/waitFor';
import { type FaultStack, startFaultStack } from './support/faultStack';
import { protectByHand } from '../helpers/handProtect';
import { seededRng } from './support/seed';
import { Shadow, ShadowWriter } from './support/shadow';
import { SkewedClock } from './support/skewedClock';
import { VmVerifier } from './support/verify';

const MiB = 1024 * 1024;
const SKEW_MS = 5 * 60_000;
const RG = 'skew-rg';
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 4 * MiB },
  { name: 'data', lun: 1, sizeBytes: 2 * MiB },
];

const { seed, rng } = seededRng('clock skew');

interface Vm {
  name: 'ahead' | 'behind';
  skewMs: number;
  shadow: Shadow;
  writer: ShadowWriter;
  verifier: VmVerifier;
}

describe('fault: the source clock 5 minutes off the host', () => {
  let stack: FaultStack;
  let behindAgent: MobilityAgent | undefined;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-faults-skew-'));
  const vms: Vm[] = [];
  const regions = (): { source: string; target: string } => ({
    source: stack.source.connectionString,
    target: stack.target.connectionString,
  });

  function track(name: Vm['name'], skewMs: number, port: () => Promise<number>, tag: number): Vm {
    const shadow = new Shadow(RG, name, DISKS, tag);
    const vm: Vm = {
      name,
      skewMs,
      shadow,
      writer: new ShadowWriter(shadow, { port, rng }),
      verifier: new VmVerifier(shadow, regions()),
    };
    vm.verifier.startIndexing(300);
    vm.verifier.startWatermarkWatch();
    vms.push(vm);
    return vm;
  }

  beforeAll(async () => {
    stack = await startFaultStack({
      runnerClock: new SkewedClock(SKEW_MS),
      settings: { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/2 * * * * *' },
    });
    // ahead: through the enable workflow, its agent started by the (fast) VM runner.
    await stack.putVm(
      RG,
      'ahead',
      DISKS.map((d) => ({ name: d.name, sizeMiB: d.sizeBytes / MiB })),
    );
    const ahead = track('ahead', SKEW_MS, () => stack.nbdPort(RG, 'ahead'), (seed ^ 0xc3) >>> 0);
    ahead.writer.start();
    await stack.waitForJob(await stack.startJob(`vms/${RG}/ahead/enable-replication`), 180_000);

    // behind: protected by hand, its agent in this process with a slow clock.
    await protectByHand(regions(), {
      resourceGroup: RG,
      vm: 'behind',
      disks: DISKS,
      agent: { flushIntervalMs: 300, heartbeatIntervalMs: 1000 },
    });
    behindAgent = new MobilityAgent({
      resourceGroup: RG,
      vm: 'behind',
      sourceConnectionString: regions().source,
      stateDir,
      logger: new RecordingLogger(),
      clock: new SkewedClock(-SKEW_MS),
      configPollIntervalMs: 300,
      statusIntervalMs: 1000,
    });
    await behindAgent.start();
    const behind = track('behind', -SKEW_MS, async () => behindAgent!.status().nbd.port, (seed ^ 0xd4) >>> 0);
    behind.writer.start();
  }, 300_000);

  afterAll(async () => {
    for (const vm of vms) {
      await vm.writer.stop();
      await vm.verifier.stopBackground();
    }
    await behindAgent?.stop();
    await stack?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }, 180_000);

  it('replicates exactly and cuts exact recovery points either way', async () => {
    // A while of writes and points.
    await waitFor(
      async () => {
        for (const vm of vms) {
          if (vm.shadow.acked.length < 300 || (await vm.verifier.points()).length < 5) return false;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'writes and recovery points on both VMs' },
    );
    for (const vm of vms) {
      await vm.writer.pause();
      await vm.verifier.waitConverged();
      await vm.verifier.expectSourceIsShadow();
      const checked = await vm.verifier.checkPoints();
      expect(checked.checked).toBeGreaterThanOrEqual(5);
      vm.verifier.checkJournalOrder((await vm.verifier.sampleWatermark())!.generation);
      expect(vm.verifier.watermarkViolations).toEqual([]);
      // A point's time is the source's; cutAt is the host's: they differ by the skew.
      for (const p of await vm.verifier.points()) {
        expect(Math.abs(p.time - p.cutAt - vm.skewMs), `${vm.name} ${p.id}`).toBeLessThan(15_000);
      }
      vm.writer.resume();
    }
  }, 300_000);

  it('shows the skew in RPO: about 5 minutes more when the source is slow, 0 when it is fast; never negative', async () => {
    for (const vm of vms) {
      // The timer updates RPO every 2 s; heartbeats keep the watermark's time fresh.
      const item: ProtectedItem = await waitFor(
        async () => {
          const i = await vm.verifier.items.get(RG, vm.name);
          return i?.rpoSeconds !== undefined && i.lastRecoveryPointAt !== undefined ? i : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `${vm.name}'s RPO` },
      );
      console.log(
        `[faults] clock skew ${vm.name} (${vm.skewMs / 60_000} min): rpoSeconds ${item.rpoSeconds}, health ${item.health}, lagMs ${item.stats?.lagMs}`,
      );
      expect(item.rpoSeconds!).toBeGreaterThanOrEqual(0);
      expect(item.stats?.lagMs ?? 0).toBeGreaterThanOrEqual(0);
      expect(item.health, JSON.stringify(item.healthReasons)).toBe('Healthy');
      if (vm.skewMs > 0) expect(item.rpoSeconds!).toBeLessThanOrEqual(10);
      else {
        expect(item.rpoSeconds!).toBeGreaterThanOrEqual(SKEW_MS / 1000 - 5);
        expect(item.rpoSeconds!).toBeLessThanOrEqual(SKEW_MS / 1000 + 30);
      }
    }
  }, 120_000);

  /** Two consecutive points with deltas between them, and a source time halfway. */
  async function timeBetweenPoints(vm: Vm): Promise<{ older: RecoveryPoint; time: number }> {
    await vm.verifier.indexJournal();
    const points = (await vm.verifier.points()).sort((a, b) => a.sequence - b.sequence);
    for (let i = points.length - 2; i >= 0; i--) {
      const [older, newer] = [points[i]!, points[i + 1]!];
      if (newer.sequence - older.sequence >= 2 && newer.time > older.time + 2) {
        return { older, time: Math.floor((older.time + newer.time) / 2) };
      }
    }
    throw new Error(`${vm.name}: no two points with deltas between them`);
  }

  /** The writes a materialization as of `time` must hold, from the journal: deltas after the point up to `time`. */
  function expectedAtTime(vm: Vm, point: RecoveryPoint, time: number): number {
    const gen = vm.verifier.deltas.get(point.generation)!;
    let seq = point.sequence;
    while (gen.get(seq + 1) && gen.get(seq + 1)!.lastWriteTime <= time) seq++;
    expect(gen.get(seq + 1), `delta ${seq + 1} indexed`).toBeDefined();
    return vm.verifier.exactBoundary(point.generation, seq)!;
  }

  it('any point in time is taken in the source clock: test failover of ahead to a time', async () => {
    const vm = vms.find((v) => v.name === 'ahead')!;
    await vm.writer.pause();
    const { older, time } = await timeBetweenPoints(vm);
    const k = expectedAtTime(vm, older, time);
    const id = await stack.startJob(`vms/${RG}/ahead/test-failover`, {
      recoveryPoint: { time: new Date(time).toISOString() },
    });
    const job = await stack.waitForJob(id, 180_000);
    expect(job.result).toMatchObject({ recoveryPoint: { id: older.id } });
    const disks = await vm.verifier.imageOf(
      BlobServiceClient.fromConnectionString(regions().target).getContainerClient(CONTAINERS.disks),
      `${RG}-asr/ahead-test/`,
    );
    expect(vm.shadow.diff(disks, vm.shadow.contentAt(k))).toBeUndefined();
    await stack.waitForJob(await stack.startJob(`vms/${RG}/ahead/test-failover-cleanup`), 180_000);
    vm.writer.resume();
  }, 300_000);

  it('any point in time is taken in the source clock: behind materialized as of a time', async () => {
    const vm = vms.find((v) => v.name === 'behind')!;
    await vm.writer.pause();
    const { older, time } = await timeBetweenPoints(vm);
    const k = expectedAtTime(vm, older, time);
    const config = loadConfig({
      TIDEMARK_SOURCE_STORAGE: regions().source,
      TIDEMARK_TARGET_STORAGE: regions().target,
    });
    const scratch = BlobServiceClient.fromConnectionString(regions().target).getContainerClient(
      'skewscratch',
    );
    const result = await materializeAt(
      recoveryPointStores(config),
      { resourceGroup: RG, vm: 'behind', time },
      { container: scratch, prefix: 'behind/' },
    );
    expect(result.point.id).toBe(older.id);
    expect(result.replayedThrough.time).toBeLessThanOrEqual(time);
    const disks = await vm.verifier.imageOf(scratch, 'behind/');
    expect(vm.shadow.diff(disks, vm.shadow.contentAt(k))).toBeUndefined();
    vm.writer.resume();
  }, 300_000);
});

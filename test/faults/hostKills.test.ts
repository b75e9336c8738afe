/**
 * Fault 1: the host SIGKILLed at random moments (seeded, printed), again and again, while a steady
 * workload writes to a protected VM through NBD: during every workflow's steps (enable, test
 * failover, cleanup, failover, commit, disable), during apply, and during recovery-point cuts (the
 * timer runs every 2 s here). Each time the host is started again on the same task hub, data and
 * settings. After each restart in the apply and cut phases, and after each workflow job (its kills
 * come a second or two apart): the replicas converge byte for byte with the source; the source holds
 * exactly the acknowledged writes; the watermark never went backwards (also sampled all along);
 * every recovery point equals the source as of the last write in its delta; the journal carries every
 * write once, in order. Every job ends Succeeded and made each resource once. Build first
 * (`npm run test:faults` does).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentConfigBlobName } from '../../shared/agentConfig';
import { deltaBlobName, encodeDelta } from '../../shared/delta';
import { TableFabricStore } from '../../shared/fabric/tableFabricStore';
import type { Job } from '../../shared/jobs/types';
import { orphanSnapshots } from '../../shared/recoveryPoints/snapshots';
import { CONTAINERS } from '../../shared/storageNames';
import { waitFor } from '../helpers/waitFor';
import { type FaultStack, startFaultStack } from './support/faultStack';
import { KillLog, leaseHeld } from './support/killLog';
import { seededRng } from './support/seed';
import { Shadow, ShadowWriter } from './support/shadow';
import { VmVerifier } from './support/verify';

const MiB = 1024 * 1024;
const RG = 'kill-rg';
const VM = 'app1';
const TARGET_RG = 'kill-rg-asr';
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 4 * MiB },
  { name: 'data', lun: 1, sizeBytes: 2 * MiB },
];
/** The suite's promise: at least this many kills in total. */
const MIN_KILLS = 50;
const APPLY_KILLS = Number(process.env.TIDEMARK_FAULT_APPLY_KILLS ?? 6);
const CUT_KILLS = Number(process.env.TIDEMARK_FAULT_CUT_KILLS ?? 6);

const { seed, rng } = seededRng('host kills');

describe('fault: the host SIGKILLed at random moments', () => {
  let stack: FaultStack;
  let shadow: Shadow;
  let writer: ShadowWriter;
  let verifier: VmVerifier;
  const log = new KillLog();
  const target = (): BlobServiceClient =>
    BlobServiceClient.fromConnectionString(stack.target.connectionString);
  const westus = (): TableFabricStore =>
    TableFabricStore.fromConnectionString('westus', stack.target.connectionString);

  beforeAll(async () => {
    stack = await startFaultStack({ settings: { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/2 * * * * *' } });
    await stack.putVm(
      RG,
      VM,
      DISKS.map((d) => ({ name: d.name, sizeMiB: d.sizeBytes / MiB })),
    );
    shadow = new Shadow(RG, VM, DISKS, (seed ^ 0x51ed) >>> 0);
    writer = new ShadowWriter(shadow, { port: () => stack.nbdPort(RG, VM), rng });
    verifier = new VmVerifier(shadow, {
      source: stack.source.connectionString,
      target: stack.target.connectionString,
    });
    verifier.startWatermarkWatch();
    verifier.startIndexing();
  }, 120_000);

  afterAll(async () => {
    console.log(log.summary());
    console.log(
      `[faults] host kills: ${verifier?.totals.checked ?? 0} recovery points checked (${verifier?.totals.exact ?? 0} at their journal boundary, ${verifier?.totals.prefix ?? 0} as a consistent prefix), ${shadow?.acked.length ?? 0} acknowledged writes, ${verifier?.watermarkSamples ?? 0} watermark samples`,
    );
    await writer?.stop();
    await verifier?.stopBackground();
    await stack?.stop();
  }, 120_000);

  /** SIGKILL, restart, log. */
  async function kill(phase: string, at: string): Promise<number> {
    const killedAt = Date.now();
    await stack.host().kill();
    const held = await leaseHeld(stack.target.connectionString, RG, VM);
    await stack.restartHost();
    log.add({ phase, at, leaseHeld: held, downMs: Date.now() - killedAt });
    return killedAt;
  }

  /**
   * The checks after a restart, with the workload paused (and resumed after): replicas converge with
   * the source, the source is the shadow, every new recovery point equals its shadow, the journal is
   * in order, the watermark never went back.
   */
  async function checkAll(killedAt?: number): Promise<void> {
    await writer.pause();
    try {
      expect(writer.error?.stack, 'the workload stopped').toBeUndefined();
      await verifier.waitConverged(120_000);
      if (shadow.uncertain.length === 0) await verifier.expectSourceIsShadow();
      await verifier.checkPoints();
      const item = await verifier.sampleWatermark();
      if (item) verifier.checkJournalOrder(item.generation);
      expect(verifier.watermarkViolations).toEqual([]);
      if (killedAt !== undefined) log.kills.at(-1)!.recoveredMs = Date.now() - killedAt;
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- host output ---\n${stack.host().output().slice(-4000)}`,
      );
    }
    writer.resume();
  }

  /** Kills the host at random moments while job `id` runs (the first within `first` ms). */
  async function killDuring(
    id: string,
    phase: string,
    options: { max: number; first: [number, number]; then: [number, number] },
  ): Promise<number> {
    let n = 0;
    let delay = rng.int(...options.first);
    while (n < options.max) {
      await sleep(delay);
      const job = await stack.job(id).catch(() => undefined);
      if (!job || job.state !== 'InProgress') break;
      const step = job.steps.find((s) => s.state === 'InProgress')?.name ?? 'between steps';
      await kill(phase, step);
      n++;
      delay = rng.int(...options.then);
    }
    return n;
  }

  async function cacheHasDelta(): Promise<boolean> {
    const cache = BlobServiceClient.fromConnectionString(stack.source.connectionString).getContainerClient(
      CONTAINERS.cache,
    );
    for await (const blob of cache.listBlobsFlat({ prefix: `${RG}/${VM}/` })) {
      if (blob.name.endsWith('.delta')) return true;
    }
    return false;
  }

  async function noOrphanSnapshots(): Promise<void> {
    await waitFor(
      async () =>
        (
          await orphanSnapshots(
            target().getContainerClient(CONTAINERS.replicas),
            RG,
            VM,
            await verifier.points(),
          )
        ).length === 0,
      { timeoutMs: 60_000, intervalMs: 500, what: 'orphan snapshots to be pruned' },
    );
  }

  async function blobNames(container: string, prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of target().getContainerClient(container).listBlobsFlat({ prefix }))
      names.push(blob.name);
    return names.sort();
  }

  it('enable replication finishes across kills, with each resource made once', async () => {
    writer.start();
    const id = await stack.startJob(`vms/${RG}/${VM}/enable-replication`);
    const n = await killDuring(id, 'enable', { max: 8, first: [300, 1500], then: [500, 2500] });
    expect(n, 'kills while the enable job ran').toBeGreaterThanOrEqual(1);
    const job = await stack.waitForJob(id, 240_000);
    expect(job.result).toMatchObject({ generation: 1, targetResourceGroup: TARGET_RG });
    await checkAll();

    const item = await verifier.items.get(RG, VM);
    expect(item).toMatchObject({ state: 'Protected', generation: 1, applyEnabled: true });
    expect((await westus().resourceGroups.list()).filter((g) => g.name === TARGET_RG)).toHaveLength(1);
    expect((await westus().virtualNetworks.list(TARGET_RG)).map((v) => v.name)).toEqual([`${RG}-vnet-asr`]);
    expect(await blobNames(CONTAINERS.replicas, `${RG}/${VM}/`)).toEqual([
      `${RG}/${VM}/data`,
      `${RG}/${VM}/os`,
    ]);
    const enables = ((await stack.api('GET', 'jobs')).body.jobs as Job[]).filter(
      (j) => j.kind === 'EnableReplication',
    );
    expect(enables.map((j) => j.id)).toEqual([id]);
  }, 360_000);

  it(`apply survives ${APPLY_KILLS} kills under a steady workload; replicas converge after each`, async () => {
    for (let i = 0; i < APPLY_KILLS; i++) {
      await sleep(rng.int(500, 2500));
      // Half the kills aim at a delta being applied: one sits in the cache, the applier is on it.
      const aimed = i % 2 === 0;
      if (aimed) {
        await waitFor(() => cacheHasDelta(), {
          timeoutMs: 20_000,
          intervalMs: 20,
          what: 'a delta in the cache',
        });
        await sleep(rng.int(0, 150));
      }
      const killedAt = await kill('apply', aimed ? 'a delta in the cache' : 'random moment');
      await checkAll(killedAt);
    }
    expect(log.count('apply')).toBe(APPLY_KILLS);
  }, 900_000);

  it(`recovery-point cuts survive kills at the timer's moment; no orphan snapshot stays`, async () => {
    const before = log.count();
    for (let i = 0; i < CUT_KILLS; i++) {
      // The timer fires on even seconds; aim just after one.
      const now = Date.now();
      const nextEven = Math.ceil((now + 200) / 2000) * 2000;
      const jitter = rng.int(0, 300);
      await sleep(nextEven - now + jitter);
      const killedAt = await kill('recovery-point cut', `${jitter} ms after the timer fired`);
      await checkAll(killedAt);
      await noOrphanSnapshots();
    }
    expect(log.count() - before).toBe(CUT_KILLS);
  }, 900_000);

  async function testFailoverCycle(round: number): Promise<void> {
    writer.resume();
    const id = await stack.startJob(`vms/${RG}/${VM}/test-failover`, { recoveryPoint: 'latestProcessed' });
    const n = await killDuring(id, 'test failover', { max: 8, first: [200, 1200], then: [300, 1500] });
    const job = await stack.waitForJob(id, 240_000);
    await checkAll();
    const testVm = `${VM}-test`;
    expect((await westus().virtualMachines.list(TARGET_RG)).map((v) => [v.name, v.powerState])).toEqual([
      [testVm, 'Running'],
    ]);
    expect((await westus().networkInterfaces.list(TARGET_RG)).map((x) => x.name)).toEqual([`${testVm}-nic`]);
    expect(await blobNames(CONTAINERS.disks, `${TARGET_RG}/`)).toEqual([
      `${TARGET_RG}/${testVm}/data`,
      `${TARGET_RG}/${testVm}/os`,
    ]);
    // The test disks are the chosen point, which is the source as of the last write in its delta.
    const pointId = (job.result as { recoveryPoint: { id: string } }).recoveryPoint.id;
    const point = (await verifier.points()).find((p) => p.id === pointId)!;
    expect(point, `point ${pointId}`).toBeDefined();
    const disks = await verifier.imageOf(
      target().getContainerClient(CONTAINERS.disks),
      `${TARGET_RG}/${testVm}/`,
    );
    const { k } = verifier.expectedAt(point, disks);
    expect(shadow.diff(disks, shadow.contentAt(k))).toBeUndefined();
    expect((await verifier.items.get(RG, VM))?.state).toBe('TestFailedOver');

    const cleanup = await stack.startJob(`vms/${RG}/${VM}/test-failover-cleanup`);
    const m = await killDuring(cleanup, 'test failover cleanup', {
      max: 5,
      first: [200, 1000],
      then: [300, 2000],
    });
    await stack.waitForJob(cleanup, 240_000);
    await checkAll();
    writer.resume();
    expect(await westus().virtualMachines.list(TARGET_RG)).toEqual([]);
    expect(await westus().networkInterfaces.list(TARGET_RG)).toEqual([]);
    expect(await blobNames(CONTAINERS.disks, `${TARGET_RG}/`)).toEqual([]);
    expect((await westus().virtualNetworks.list(TARGET_RG)).map((v) => v.name)).toEqual([`${RG}-vnet-asr`]);
    const item = await verifier.items.get(RG, VM);
    expect(item?.state).toBe('Protected');
    expect(item?.testFailover).toBeUndefined();
    console.log(`[faults] test failover round ${round}: ${n} + ${m} kills`);
  }

  it('test failover and its cleanup finish across kills, each resource made once and removed', async () => {
    // Rounds until the suite is sure to reach MIN_KILLS (failover, commit and disable add ≥ 1 each).
    let round = 0;
    do {
      await testFailoverCycle(++round);
    } while (log.count() < MIN_KILLS - 3 && round < 8);
  }, 900_000);

  it('failover to latest finishes across kills: one VM, one NIC, its disks the source as it stopped', async () => {
    // The source VM is shut down by the failover: stop writing first, the last write is acknowledged.
    await writer.stop();
    const last = shadow.lastAcked;
    const id = await stack.startJob(`vms/${RG}/${VM}/failover`, {
      recoveryPoint: 'latest',
      shutdownSource: true,
    });
    const n = await killDuring(id, 'failover', { max: 5, first: [200, 1200], then: [300, 2000] });
    expect(n).toBeGreaterThanOrEqual(1);
    const job = await stack.waitForJob(id, 240_000);
    expect((job.result as { note?: string }).note).toBeUndefined();
    expect((await westus().virtualMachines.list(TARGET_RG)).map((v) => [v.name, v.powerState])).toEqual([
      [VM, 'Running'],
    ]);
    expect((await westus().networkInterfaces.list(TARGET_RG)).map((x) => [x.name, x.vm])).toEqual([
      [`${VM}-nic`, VM],
    ]);
    expect(await blobNames(CONTAINERS.disks, `${TARGET_RG}/`)).toEqual([
      `${TARGET_RG}/${VM}/data`,
      `${TARGET_RG}/${VM}/os`,
    ]);
    const disks = await verifier.imageOf(
      target().getContainerClient(CONTAINERS.disks),
      `${TARGET_RG}/${VM}/`,
    );
    expect(shadow.diff(disks, shadow.contentAt(last))).toBeUndefined();
    await verifier.checkPoints();
    await noOrphanSnapshots();
    expect(verifier.watermarkViolations).toEqual([]);
    const item = await verifier.items.get(RG, VM);
    expect(item).toMatchObject({ state: 'FailedOver', applyEnabled: false, failover: { jobId: id } });
    expect(item?.activeJob).toBeUndefined();
  }, 360_000);

  it('commit finishes across kills: the points, their snapshots and the journal are gone', async () => {
    // As after an upgrade from per-delta journal blobs: 1 500 of them beside the segments. They go
    // too, and deleting them keeps the job running long enough for kills to land in it (the
    // segments alone go in a few calls).
    const journal = target().getContainerClient(CONTAINERS.journal);
    const generation = (await verifier.items.get(RG, VM))!.generation;
    // Heartbeats, so the verifier's background index reads them as any delta.
    const heartbeat = (sequence: number): Buffer =>
      encodeDelta({
        vmId: `${RG}/${VM}`,
        generation,
        sequence,
        firstWriteTime: 0,
        lastWriteTime: 0,
        appConsistent: false,
        heartbeat: true,
        entries: [],
      });
    const legacy = Array.from({ length: 1500 }, (_, i) => 100_000 + i);
    for (let i = 0; i < legacy.length; i += 50) {
      await Promise.all(
        legacy
          .slice(i, i + 50)
          .map((sequence) =>
            journal
              .getBlockBlobClient(deltaBlobName({ resourceGroup: RG, vm: VM, generation, sequence }))
              .uploadData(heartbeat(sequence)),
          ),
      );
    }
    expect((await blobNames(CONTAINERS.journal, `${RG}/${VM}/`)).some((n) => n.endsWith('.journal'))).toBe(
      true,
    );
    const id = await stack.startJob(`vms/${RG}/${VM}/commit-failover`);
    const n = await killDuring(id, 'commit', { max: 4, first: [0, 300], then: [300, 1500] });
    expect(n, 'kills while the commit job ran').toBeGreaterThanOrEqual(1);
    await stack.waitForJob(id, 240_000);
    expect(await verifier.points()).toEqual([]);
    expect(await orphanSnapshots(target().getContainerClient(CONTAINERS.replicas), RG, VM, [])).toEqual([]);
    expect(await blobNames(CONTAINERS.journal, `${RG}/${VM}/`)).toEqual([]);
    const config = BlobServiceClient.fromConnectionString(stack.source.connectionString)
      .getContainerClient(CONTAINERS.agentConfig)
      .getBlobClient(agentConfigBlobName(RG, VM));
    expect(await config.exists()).toBe(false);
    expect((await verifier.items.get(RG, VM))?.state).toBe('FailoverCommitted');
  }, 360_000);

  it(`disable finishes across kills; the suite killed the host at least ${MIN_KILLS} times`, async () => {
    const id = await stack.startJob(`vms/${RG}/${VM}/disable-replication`);
    const n = await killDuring(id, 'disable', { max: 4, first: [0, 100], then: [300, 1500] });
    expect(n, 'kills while the disable job ran').toBeGreaterThanOrEqual(1);
    await stack.waitForJob(id, 240_000);
    expect(await verifier.items.get(RG, VM)).toBeUndefined();
    expect(await blobNames(CONTAINERS.replicas, `${RG}/${VM}/`)).toEqual([]);
    expect(await blobNames(CONTAINERS.locks, `${RG}/${VM}`)).toEqual([]);
    // The failed-over VM stays as it is.
    expect((await westus().virtualMachines.list(TARGET_RG)).map((v) => v.name)).toEqual([VM]);
    const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
    expect(jobs.filter((j) => j.state !== 'Succeeded').map((j) => `${j.id} ${j.state}`)).toEqual([]);
    expect(verifier.watermarkViolations).toEqual([]);
    expect(log.count()).toBeGreaterThanOrEqual(MIN_KILLS);
  }, 360_000);
});

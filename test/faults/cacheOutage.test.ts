/**
 * Fault 4: the cache unreachable for the agent for 2 minutes (TIDEMARK_FAULT_CACHE_OUTAGE_MS shortens
 * it for a quick local run; unset, the full 2 minutes) while a workload writes: its cache credentials
 * are pointed at a closed port, the rest of the source region stays up (the VM's disks live there). The agent's
 * journal is capped at 1 MiB, so writes block once it is full (back-pressure): the writer's request
 * waits, nothing more is acknowledged, nothing acknowledged is dropped, the source disk never holds
 * the blocked write. Then the address is restored: the blocked write completes, the agent catches up, and
 * the replicas converge with nothing lost.
 *
 * Fault 3, a short re-check (test/e2e/workflows/failoverSourceDown.test.ts covers it in full): then
 * the source region's storage is stopped and the VM fails over to `latestProcessed`, whose disks are
 * exactly the newest point's shadow.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type AgentReplicationConfigInput,
  agentStatusBlobName,
  type AgentStatus,
} from '../../shared/agentConfig';
import { agentConfigBlobName, writeAgentConfig } from '../../shared/agentConfig';
import type { Job } from '../../shared/jobs/types';
import { CONTAINERS } from '../../shared/storageNames';
import { waitFor } from '../helpers/waitFor';
import { type FaultStack, startFaultStack } from './support/faultStack';
import { seededRng } from './support/seed';
import { Shadow, ShadowWriter } from './support/shadow';
import { VmVerifier } from './support/verify';

const MiB = 1024 * 1024;
const RG = 'cache-rg';
const VM = 'web1';
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 4 * MiB },
  { name: 'data', lun: 1, sizeBytes: 2 * MiB },
];
const OUTAGE_MS = Number(process.env.TIDEMARK_FAULT_CACHE_OUTAGE_MS ?? 120_000);

const { seed, rng } = seededRng('cache outage');

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('fault: the cache unreachable for the agent, then the source region down', () => {
  let stack: FaultStack;
  let shadow: Shadow;
  let writer: ShadowWriter;
  let verifier: VmVerifier;
  const source = (): BlobServiceClient =>
    BlobServiceClient.fromConnectionString(stack.source.connectionString);

  async function config(): Promise<AgentReplicationConfigInput> {
    const body = await source()
      .getContainerClient(CONTAINERS.agentConfig)
      .getBlobClient(agentConfigBlobName(RG, VM))
      .downloadToBuffer();
    return JSON.parse(body.toString('utf8')) as AgentReplicationConfigInput;
  }

  async function setConfig(patch: Partial<AgentReplicationConfigInput>): Promise<void> {
    await writeAgentConfig(source().getContainerClient(CONTAINERS.agentConfig), {
      ...(await config()),
      ...patch,
    });
  }

  async function agentStatus(): Promise<{ etag?: string; status: AgentStatus }> {
    const blob = source().getContainerClient(CONTAINERS.cache).getBlobClient(agentStatusBlobName(RG, VM));
    const props = await blob.getProperties();
    return {
      etag: props.etag,
      status: JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as AgentStatus,
    };
  }

  /** Waits for the agent to write its status twice more (it has polled its config by then). */
  async function agentReported(): Promise<AgentStatus> {
    let seen = (await agentStatus()).etag;
    for (let i = 0; i < 2; i++) {
      seen = await waitFor(
        async () => {
          const now = (await agentStatus()).etag;
          return now !== seen ? now : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'a status from the agent' },
      );
    }
    return (await agentStatus()).status;
  }

  beforeAll(async () => {
    stack = await startFaultStack({ settings: { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/5 * * * * *' } });
    await stack.putVm(
      RG,
      VM,
      DISKS.map((d) => ({ name: d.name, sizeMiB: d.sizeBytes / MiB })),
    );
    shadow = new Shadow(RG, VM, DISKS, (seed ^ 0xf6) >>> 0);
    writer = new ShadowWriter(shadow, { port: () => stack.nbdPort(RG, VM), rng });
    verifier = new VmVerifier(shadow, {
      source: stack.source.connectionString,
      target: stack.target.connectionString,
    });
    verifier.startIndexing();
    verifier.startWatermarkWatch();
    await stack.waitForJob(await stack.startJob(`vms/${RG}/${VM}/enable-replication`), 180_000);
    // A small journal, so back-pressure comes within a second of writes.
    await setConfig({ maxBufferBytes: MiB });
    await agentReported();
    writer.start();
    await waitFor(() => shadow.acked.length >= 100, { timeoutMs: 30_000, intervalMs: 100, what: 'writes' });
    await writer.pause();
    await verifier.waitConverged();
    await verifier.expectSourceIsShadow();
    writer.resume();
  }, 300_000);

  afterAll(async () => {
    await writer?.stop();
    await verifier?.stopBackground();
    // The source region back first: the source VM's agent ships what it holds and stops at once.
    if (stack && !stack.source.running) await stack.source.start();
    await stack?.stop();
  }, 180_000);

  it(
    `blocks writes while the cache is unreachable (${OUTAGE_MS / 1000} s), drops nothing, catches up`,
    async () => {
      // The credentials' address only: the sweep timer's top-ups keep it, so the outage lasts.
      const cache = (await config()).cache;
      const dead = new URL(cache.containerUrl);
      dead.port = String(await closedPort());
      await setConfig({ cache: { ...cache, containerUrl: dead.toString().replace(/\/$/, '') } });
      const outageAt = Date.now();

      // Back-pressure: the journal fills and a write waits.
      const blocked = await waitFor(
        () => {
          const f = writer.inFlight;
          return f && Date.now() - f.since > 5_000 ? f : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: 'a write to be held back' },
      );
      const ackedWhenBlocked = shadow.lastAcked;
      const blockedAfterMs = blocked.since - outageAt;
      // Nothing acknowledged since, and the held write is not on the source disk.
      await sleep(Math.min(10_000, Math.max(0, outageAt + OUTAGE_MS / 2 - Date.now())));
      expect(shadow.lastAcked).toBe(ackedWhenBlocked);
      await verifier.expectSourceIsShadow();
      await sleep(Math.max(0, outageAt + OUTAGE_MS - Date.now()));
      expect(shadow.lastAcked, 'no write acknowledged while the journal was full').toBe(ackedWhenBlocked);
      expect(writer.inFlight?.op.id).toBe(blocked.op.id);
      await verifier.expectSourceIsShadow();
      // Host side: RPO grew with the outage (the timer updates it every 5 s).
      const rpo = (await verifier.items.get(RG, VM))?.rpoSeconds ?? 0;
      expect(rpo).toBeGreaterThanOrEqual(Math.floor((OUTAGE_MS - blockedAfterMs) / 1000) - 15);

      await setConfig({ cache: { ...(await config()).cache, containerUrl: cache.containerUrl } });
      const restoredAt = Date.now();
      await waitFor(() => shadow.lastAcked > ackedWhenBlocked, {
        timeoutMs: 120_000,
        intervalMs: 100,
        what: 'the held write to be acknowledged',
      });
      const unblockedMs = Date.now() - restoredAt;
      const heldMs = Date.now() - blocked.since;
      await sleep(2_000);
      await writer.pause();
      const convergedMs = await verifier.waitConverged(180_000);
      await verifier.expectSourceIsShadow();
      const points = await verifier.checkPoints();
      const item = (await verifier.sampleWatermark())!;
      verifier.checkJournalOrder(item.generation);
      expect(verifier.watermarkViolations).toEqual([]);
      expect(item).toMatchObject({ state: 'Protected', applyEnabled: true });
      const status = await agentReported();
      expect(status.health).toBe('Healthy');
      expect(status.resyncReason).toBeUndefined();
      console.log(
        `[faults] cache outage: ${Math.round((Date.now() - outageAt) / 1000)} s; writes blocked ${blockedAfterMs} ms after it began and held ${heldMs} ms; RPO at the end ${rpo} s; acknowledged ${unblockedMs} ms after the SAS came back; converged ${convergedMs} ms after pausing; ${points.checked} points checked`,
      );
      writer.resume();
    },
    OUTAGE_MS + 600_000,
  );

  it('fails over to latestProcessed with the source region down (short re-check of fault 3)', async () => {
    // A point cut after the catch-up is the newest processed one.
    const cutBefore = Date.now();
    await waitFor(async () => ((await verifier.points())[0]?.cutAt ?? 0) > cutBefore, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'a new recovery point',
    });
    await writer.stop();
    await stack.source.stop();
    const [newest] = await verifier.points();
    const started = await stack.api('POST', `vms/${RG}/${VM}/failover`, { recoveryPoint: 'latestProcessed' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const job = await stack.waitForJob((started.body.job as Job).id, 180_000);
    expect(job.steps.find((s) => s.name === 'Shutting down the source virtual machine')?.warning).toMatch(
      /could not be shut down/,
    );
    expect(job.result).toMatchObject({ recoveryPoint: { id: newest!.id } });
    const disks = await verifier.imageOf(
      BlobServiceClient.fromConnectionString(stack.target.connectionString).getContainerClient(
        CONTAINERS.disks,
      ),
      `${RG}-asr/${VM}/`,
    );
    const { k, exact } = verifier.expectedAt(newest!, disks);
    expect(exact).toBe(true);
    expect(shadow.diff(disks, shadow.contentAt(k))).toBeUndefined();
    expect(await verifier.items.get(RG, VM)).toMatchObject({ state: 'FailedOver' });
  }, 300_000);
});

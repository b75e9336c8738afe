/**
 * Fault 5: the mobility agent (its own process, `tidemark-agent run`) SIGKILLed while a delta
 * uploads, and started again on the same state dir. Its journal lives in memory, so writes it had
 * acknowledged but not yet shipped are gone from the stream (they are on the source disk only). What
 * must hold: the sequence goes on with no gap (reserved numbers are filled), nothing after the gap is
 * applied, every recovery point stays consistent, and the item is flagged ResyncRequired with the
 * reason, so the replicas are never silently missing acknowledged writes. Two cases: the upload
 * stalled in flight (writes lost), and the upload landed but its answer never came (nothing lost,
 * but the agent cannot know that, so it is flagged all the same).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseDeltaBlobName } from '../../shared/delta';
import { journaledDeltas } from '../../shared/journal';
import { CONTAINERS } from '../../shared/storageNames';
import { waitFor } from '../helpers/waitFor';
import { type AgentProcess, spawnAgent } from './support/agentProcess';
import { type FaultStack, startFaultStack } from './support/faultStack';
import { protectByHand } from '../helpers/handProtect';
import { seededRng } from './support/seed';
import { type DiskImage, Shadow, ShadowWriter } from './support/shadow';
import { TcpProxy } from './support/tcpProxy';
import { VmVerifier } from './support/verify';

const MiB = 1024 * 1024;
const RG = 'agent-rg';
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 4 * MiB },
  { name: 'data', lun: 1, sizeBytes: 2 * MiB },
];

const { seed, rng } = seededRng('agent restart');

interface Vm {
  shadow: Shadow;
  writer: ShadowWriter;
  verifier: VmVerifier;
  proxy: TcpProxy;
  agent: AgentProcess;
  stateDir: string;
}

describe('fault: the mobility agent killed mid-delta', () => {
  let stack: FaultStack;
  const vms: Vm[] = [];
  const regions = (): { source: string; target: string } => ({
    source: stack.source.connectionString,
    target: stack.target.connectionString,
  });

  beforeAll(async () => {
    stack = await startFaultStack({
      runners: false,
      settings: { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/2 * * * * *' },
    });
  }, 120_000);

  afterAll(async () => {
    for (const vm of vms) {
      await vm.writer.stop();
      await vm.verifier.stopBackground();
      await vm.agent.stop();
      await vm.proxy.close();
      fs.rmSync(vm.stateDir, { recursive: true, force: true });
    }
    await stack?.stop();
  }, 180_000);

  async function startVm(name: string, tag: number): Promise<Vm> {
    const proxy = await TcpProxy.start(stack.source.blobPort);
    await protectByHand(regions(), {
      resourceGroup: RG,
      vm: name,
      disks: DISKS,
      agent: { flushIntervalMs: 300, heartbeatIntervalMs: 1000 },
      cachePort: proxy.port,
    });
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-faults-agent-'));
    const agent = await spawnAgent({
      resourceGroup: RG,
      vm: name,
      sourceConnection: regions().source,
      stateDir,
    });
    const shadow = new Shadow(RG, name, DISKS, tag);
    const vm: Vm = {
      shadow,
      proxy,
      agent,
      stateDir,
      verifier: new VmVerifier(shadow, regions()),
      writer: undefined as unknown as ShadowWriter,
    };
    vm.writer = new ShadowWriter(shadow, { port: async () => vm.agent.port, rng, reconnect: true });
    vm.verifier.startIndexing(300);
    vm.verifier.startWatermarkWatch();
    vms.push(vm);
    vm.writer.start();
    // Replication runs: some deltas applied, replicas equal to the source.
    await waitFor(async () => ((await vm.verifier.sampleWatermark())?.watermark ?? 0) >= 3, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `replication of ${name} to start`,
    });
    await vm.writer.pause();
    await vm.verifier.waitConverged();
    await vm.verifier.expectSourceIsShadow();
    vm.writer.resume();
    return vm;
  }

  async function restartAgent(vm: Vm): Promise<void> {
    await vm.agent.kill();
    vm.proxy.forward();
    vm.agent = await spawnAgent({
      resourceGroup: RG,
      vm: vm.shadow.vm,
      sourceConnection: regions().source,
      stateDir: vm.stateDir,
      port: vm.agent.port,
    });
  }

  /** Sequence numbers of the VM's generation-1 deltas anywhere: cache, journal, quarantine. */
  async function sequences(vm: string): Promise<number[]> {
    const out = new Set<number>();
    const stores = [
      [regions().source, CONTAINERS.cache],
      [regions().target, CONTAINERS.quarantine],
    ] as const;
    for (const [conn, container] of stores) {
      const c = BlobServiceClient.fromConnectionString(conn).getContainerClient(container);
      if (!(await c.exists())) continue;
      for await (const blob of c.listBlobsFlat({ prefix: `${RG}/${vm}/1/` })) {
        out.add(parseDeltaBlobName(blob.name).sequence);
      }
    }
    const journal = BlobServiceClient.fromConnectionString(regions().target).getContainerClient(
      CONTAINERS.journal,
    );
    if (await journal.exists()) {
      for (const d of await journaledDeltas(journal, { resourceGroup: RG, vm, generation: 1 }))
        out.add(d.sequence);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** The source holds every acknowledged write, and the unacknowledged ones or not. */
  async function expectSourceWithin(vm: Vm): Promise<void> {
    const source = await vm.verifier.sourceImage();
    const { shadow } = vm;
    const candidates: DiskImage[] = [shadow.contentAt(shadow.lastAcked)];
    // One write was in flight at the kill: on the disk or not (then later writes may cover it).
    for (const op of shadow.uncertain) {
      const withIt = shadow.contentAt(shadow.lastAcked);
      const later = shadow.acked.filter((o) => o.id > op.id);
      shadow.data(op).copy(withIt.get(op.lun)!, op.offset);
      for (const o of later) shadow.data(o).copy(withIt.get(o.lun)!, o.offset);
      candidates.push(withIt);
    }
    const problems = candidates.map((c) => shadow.diff(source, c));
    expect(
      problems.some((p) => p === undefined),
      `the source is the acknowledged writes: ${problems.join('; ')}`,
    ).toBe(true);
  }

  async function expectFlaggedConsistent(vm: Vm, lost: boolean): Promise<void> {
    const { shadow, verifier } = vm;
    const item = await waitFor(
      async () => {
        const i = await verifier.items.get(RG, shadow.vm);
        return i?.state === 'ResyncRequired' ? i : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `${shadow.vmId} to be flagged ResyncRequired` },
    );
    console.log(`[faults] agent restart ${shadow.vmId}: ${item.resyncReason}`);
    expect(item.applyEnabled).toBe(false);
    expect(item.health).toBe('Critical');
    expect(item.resyncReason).toMatch(/unclean|without shipping/);
    // The sequence went on: no number skipped across the restart. The journal's oldest deltas are
    // pruned behind the oldest point (the index may have missed some): the numbers seen start at 1
    // or right after a point.
    await verifier.indexJournal();
    const seqs = [
      ...new Set([...(await sequences(shadow.vm)), ...(verifier.deltas.get(1)?.keys() ?? [])]),
    ].sort((a, b) => a - b);
    expect(seqs, 'no number skipped').toEqual(seqs.map((_, i) => seqs[0]! + i));
    const oldestPoint = Math.min(...(await verifier.points()).map((p) => p.sequence));
    expect(seqs[0] === 1 || seqs[0]! <= oldestPoint + 1, `the numbers seen start at ${seqs[0]}`).toBe(true);
    expect(seqs.at(-1)!).toBeGreaterThan(item.watermark);
    // Nothing after the gap was applied: the replicas are the source as of the watermark's last write.
    await verifier.indexJournal();
    verifier.checkJournalOrder(1);
    const boundary = verifier.exactBoundary(1, item.watermark);
    expect(boundary, 'the journal knows the last write applied').toBeDefined();
    const replica = await verifier.replicaImage();
    expect(shadow.diff(replica, shadow.contentAt(boundary!))).toBeUndefined();
    await verifier.checkPoints();
    expect(verifier.watermarkViolations).toEqual([]);
    await expectSourceWithin(vm);
    if (lost) {
      const source = await verifier.sourceImage();
      expect(shadow.diff(replica, source), 'acknowledged writes are missing from the replica').toBeDefined();
    }
  }

  it('killed while a delta upload hangs: the item is flagged ResyncRequired, nothing after the gap applied', async () => {
    const vm = await startVm('stalled', (seed ^ 0xa1) >>> 0);
    const ackedBefore = vm.shadow.lastAcked;
    vm.proxy.stall();
    await waitFor(() => vm.proxy.deltaUploads('stall').length > 0, {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: 'a delta upload to be in flight',
    });
    // More writes acknowledged while the upload hangs: journaled in memory only.
    await waitFor(() => vm.shadow.lastAcked >= ackedBefore + 20, {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: 'writes acknowledged during the hanging upload',
    });
    const inFlight = vm.proxy.deltaUploads('stall')[0]!;
    await restartAgent(vm);
    await waitFor(
      () => vm.writer.drops > 0 && vm.shadow.acked.length > 0 && vm.writer.inFlight === undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'the writer to notice the kill',
      },
    );
    const resumedAt = vm.shadow.lastAcked;
    await waitFor(() => vm.shadow.lastAcked >= resumedAt + 20, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'writes through the restarted agent',
    });
    await vm.writer.pause();
    console.log(
      `[faults] agent restart: killed with delta ${inFlight} in flight, ${vm.shadow.acked.filter((o) => o.id > ackedBefore).length} writes acknowledged after the upload hung`,
    );
    await expectFlaggedConsistent(vm, true);
  }, 300_000);

  it('killed after a delta landed but before its answer: flagged all the same (the agent cannot know)', async () => {
    const vm = await startVm('landed', (seed ^ 0xb2) >>> 0);
    // Everything acknowledged is journaled; the next upload carries the rest of it (or a heartbeat).
    await vm.writer.pause();
    const last = vm.shadow.lastAcked;
    vm.proxy.holdResponses();
    // Every acknowledged write lands in the cache and is applied; then an upload waits for its answer.
    await waitFor(
      async () => {
        await vm.verifier.indexJournal();
        return vm.verifier.exactBoundary(1, (await vm.verifier.sampleWatermark())?.watermark ?? 0) === last;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the last write to be applied' },
    );
    await waitFor(() => vm.proxy.deltaUploads('holdResponses').length > 0, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'an upload waiting for its answer',
    });
    await restartAgent(vm);
    vm.writer.resume();
    await waitFor(() => vm.shadow.lastAcked >= last + 10, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'writes through the restarted agent',
    });
    await vm.writer.pause();
    const item = await waitFor(
      async () => {
        const i = await vm.verifier.items.get(RG, 'landed');
        return i?.state === 'ResyncRequired' ? i : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'landed to be flagged' },
    );
    // Nothing acknowledged before the kill was lost: the replicas hold every write up to `last`.
    expect(vm.verifier.exactBoundary(1, item.watermark)).toBe(last);
    expect(vm.shadow.diff(await vm.verifier.replicaImage(), vm.shadow.contentAt(last))).toBeUndefined();
    await expectFlaggedConsistent(vm, false);
  }, 300_000);
});

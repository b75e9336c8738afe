/**
 * The agent's built-in workload (MobilityAgent option `workload`) with in-memory disks, sink and
 * config: its writes go through the replicated disks, so the shipped deltas replay to the disks,
 * which hold exactly what the seeded plan predicts; stop() ends an endless workload and ships it all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import type { DeltaSink, PutResult } from '../../../agent/deltaSink';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { VmDisks } from '../../../agent/vmDisks';
import { parseWorkloadSpec, type WorkloadSpec, WorkloadPlan } from '../../../agent/workload';
import { parseAgentConfig } from '../../../shared/agentConfig';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, type Delta } from '../../../shared/delta';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import { fakeAgentConfig } from '../../helpers/agentCredentials';
import { waitFor } from '../../helpers/waitFor';

const MiB = 1024 * 1024;
const SIZES = [4 * MiB, MiB];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-workload-agent-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function setup(workload: WorkloadSpec, replicating = true) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const inner = SIZES.map((size, i) => new MemoryBlockDevice(`disk${i}`, size));
  const vmDisks = new VmDisks(inner.map((d, i) => new ReplicatedDisk(i, d)));
  const deltas = new Map<string, Buffer>();
  const sink: DeltaSink = {
    putDelta: async (name: string, body: Buffer): Promise<PutResult> => {
      deltas.set(name, Buffer.from(body));
      return 'created';
    },
    putJson: async () => undefined,
  };
  const parsed = parseAgentConfig(fakeAgentConfig());
  if (!parsed.ok) throw new Error(parsed.problem);
  const logger = new RecordingLogger();
  const agent = new MobilityAgent({
    resourceGroup: 'rg',
    vm: 'vm',
    sourceConnectionString: 'UseDevelopmentStorage=true',
    stateDir: fs.mkdtempSync(path.join(root, 'state-')),
    clock,
    logger,
    workload,
    openDisks: async () => vmDisks,
    readConfig: async () => (replicating ? { kind: 'valid', config: parsed.config } : { kind: 'absent' }),
    createSink: () => sink,
  });
  const shipped = (): Delta[] =>
    [...deltas.values()].map((body) => decodeDelta(body)).sort((a, b) => a.sequence - b.sequence);
  return { clock, inner, vmDisks, agent, logger, shipped };
}

function replay(deltas: Delta[]): Buffer[] {
  const out = SIZES.map((size) => Buffer.alloc(size));
  for (const d of deltas) for (const e of d.entries) if ('data' in e) e.data.copy(out[e.disk]!, e.offset);
  return out;
}

describe('MobilityAgent with a built-in workload', () => {
  it('journals the workload like NBD writes: deltas replay to the disks the seed predicts', async () => {
    const spec: WorkloadSpec = { pattern: 'hotspot', rateMBps: 20, seed: 7, totalBytes: 2 * MiB };
    const { clock, inner, agent, shipped } = setup(spec);
    await agent.start();
    const done = agent.workloadDone;
    let stats: Awaited<typeof done> | undefined;
    void done.then((s) => (stats = s));
    await waitFor(
      async () => {
        await clock.advance(100);
        return stats;
      },
      { what: 'the workload', intervalMs: 1 },
    );
    expect(stats).toMatchObject({ bytes: 2 * MiB, writes: 512, stoppedBy: 'totalBytes' });
    expect(stats!.elapsedMs).toBeGreaterThanOrEqual(100);
    await agent.stop();

    const predicted = SIZES.map((size) => Buffer.alloc(size));
    const plan = new WorkloadPlan(parseWorkloadSpec(spec), SIZES);
    for (let i = 0; i < 512; i++) {
      const w = plan.next();
      w.data.copy(predicted[w.disk]!, w.offset);
    }
    const disks = inner.map((d) => d.snapshot());
    const deltas = shipped();
    expect(deltas.flatMap((d) => d.entries)).toHaveLength(512);
    const replayed = replay(deltas);
    for (let i = 0; i < SIZES.length; i++) {
      expect(disks[i]!.equals(predicted[i]!), `disk ${i} as predicted`).toBe(true);
      expect(replayed[i]!.equals(disks[i]!), `disk ${i} replayed`).toBe(true);
    }
    expect(agent.status().resyncReason).toBeUndefined();
  });

  it('stop() ends an endless workload after its write in flight and ships every write', async () => {
    const { clock, inner, agent, logger, shipped } = setup({ pattern: 'random4k', rateMBps: 5, seed: 1 });
    await agent.start();
    await clock.advance(2000);
    await agent.stop();
    const stats = await agent.workloadDone;
    expect(stats?.stoppedBy).toBe('signal');
    expect(stats!.bytes).toBeGreaterThan(9 * 1_000_000);
    const replayed = replay(shipped());
    expect(shipped().flatMap((d) => d.entries)).toHaveLength(stats!.writes);
    for (let i = 0; i < SIZES.length; i++) expect(replayed[i]!.equals(inner[i]!.snapshot())).toBe(true);
    expect(logger.records.some((r) => r.msg === 'Workload finished')).toBe(true);
  });

  it('counts workload writes made while not replicating, as it does NBD writes', async () => {
    const { clock, vmDisks, agent, logger } = setup(
      { pattern: 'sequential', rateMBps: 10, seed: 1, totalBytes: 64 * 1024 },
      false,
    );
    await agent.start();
    await clock.advance(100);
    expect((await agent.workloadDone)?.writes).toBe(1);
    expect(agent.status().health).toBe('NotReplicating');
    expect(vmDisks.takeUnjournaledWrites()).toBe(1);
    await agent.stop();
    expect(logger.records.some((r) => r.level === 'error')).toBe(false);
  });

  it('refuses a bad workload spec when constructed, naming the field', () => {
    let caught: unknown;
    try {
      setup({ pattern: 'random4k', rateMBps: 0, seed: 1 });
    } catch (err) {
      caught = err;
    }
    expect(isTidemarkError(caught, 'InvalidArgument')).toBe(true);
    expect((caught as Error).message).toMatch(/rateMBps: rateMBps must be above 0/);
  });
});

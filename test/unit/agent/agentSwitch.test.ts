/**
 * The agent's transitions with in-memory disks, sink and config: generation and settings switches
 * with writes in flight never lose or reorder a write, sequence numbers stay gap-free per
 * generation, and writes made while replication was off are reported as needing a resync.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import type { ConfigRead } from '../../../agent/agentConfig';
import type { DeltaSink, PutResult } from '../../../agent/deltaSink';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { VmDisks } from '../../../agent/vmDisks';
import {
  type AgentCacheCredentials,
  type AgentReplicationConfig,
  type AgentReplicationConfigInput,
  parseAgentConfig,
} from '../../../shared/agentConfig';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, type Delta, parseDeltaBlobName } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';
import { fakeAgentConfig, fakeCacheCredentials } from '../../helpers/agentCredentials';
import { waitFor } from '../../helpers/waitFor';

const SIZE = 64 * 1024;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-agent-unit-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

class MemorySink {
  readonly blobs = new Map<string, { body: Buffer; url: string }>();
  readonly json = new Map<string, unknown>();

  for(credentials: AgentCacheCredentials): DeltaSink {
    const url = credentials.containerUrl;
    return {
      putDelta: async (name: string, body: Buffer): Promise<PutResult> => {
        if (this.blobs.has(name)) return 'exists';
        this.blobs.set(name, { body: Buffer.from(body), url });
        return 'created';
      },
      putJson: async (name: string, value: unknown) => {
        this.json.set(name, value);
      },
    };
  }

  deltas(): Delta[] {
    return [...this.blobs.entries()]
      .map(([name, { body }]) => {
        const { generation, sequence } = parseDeltaBlobName(name);
        return decodeDelta(body, { generation, sequence });
      })
      .sort((a, b) => a.generation - b.generation || a.sequence - b.sequence);
  }
}

/** A config; its credentials follow its generation unless given. */
function config(overrides: Partial<AgentReplicationConfigInput> = {}): AgentReplicationConfig {
  const { cache, ...rest } = overrides;
  const generation = rest.generation ?? 1;
  const parsed = parseAgentConfig({
    ...fakeAgentConfig(rest),
    ...(cache && cache.deltaSas.generation === generation ? { cache } : {}),
  });
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.config;
}

async function setup(stateDir: string) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const inner = [new MemoryBlockDevice('os', SIZE), new MemoryBlockDevice('data', SIZE)];
  for (const [i, d] of inner.entries()) await d.write(0, Buffer.alloc(SIZE, 0x10 + i), { fua: false });
  const initial = inner.map((d) => d.snapshot());
  const disks = new VmDisks(inner.map((d, i) => new ReplicatedDisk(i, d)));
  const sink = new MemorySink();
  let current: ConfigRead = { kind: 'absent' };
  let reads = 0;
  const agent = new MobilityAgent({
    resourceGroup: 'rg',
    vm: 'vm',
    sourceConnectionString: 'UseDevelopmentStorage=true',
    stateDir,
    clock,
    logger: new RecordingLogger(),
    configPollIntervalMs: 1000,
    openDisks: async () => disks,
    readConfig: async () => {
      reads++;
      return current;
    },
    createSink: (credentials) => sink.for(credentials),
  });
  const setConfig = (next: ConfigRead): void => {
    current = next;
  };
  /** Steps the clock until the agent has applied `check`. */
  const until = (what: string, check: () => boolean): Promise<boolean> =>
    waitFor(
      async () => {
        if (check()) return true;
        await clock.advance(1000);
        return false;
      },
      { what, intervalMs: 1 },
    );
  /** Until a poll that started after now has finished. */
  const polled = (): Promise<boolean> => {
    const target = reads + 2;
    return until('a full poll', () => reads >= target);
  };
  /** Fires the poll timer and resolves once the poll has read the config (the switch goes on). */
  const pollStarted = async (): Promise<void> => {
    const target = reads + 1;
    await until('a poll', () => reads >= target);
  };
  return { clock, inner, initial, disks, sink, agent, setConfig, until, polled, pollStarted };
}

function replay(base: Buffer[], deltas: Delta[]): Buffer[] {
  const out = base.map((b) => Buffer.from(b));
  for (const d of deltas) {
    for (const e of d.entries) {
      if ('data' in e) e.data.copy(out[e.disk]!, e.offset);
      else out[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
    }
  }
  return out;
}

type Op =
  | { kind: 'write'; disk: number; offset: number; length: number; awaited: boolean; pause: boolean }
  | { kind: 'zero'; disk: number; offset: number; length: number; awaited: boolean; pause: boolean }
  | { kind: 'change'; what: 'generation' | 'settings' | 'sas' | 'bookmark' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        disk: fc.integer({ min: 0, max: 1 }),
        offset: fc.integer({ min: 0, max: SIZE - 1 }),
        length: fc.integer({ min: 1, max: 5000 }),
        awaited: fc.boolean(),
        pause: fc.boolean(),
      })
      .map((o) => ({ kind: 'write' as const, ...o, length: Math.min(o.length, SIZE - o.offset) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        disk: fc.integer({ min: 0, max: 1 }),
        offset: fc.integer({ min: 0, max: SIZE - 1 }),
        length: fc.integer({ min: 1, max: 5000 }),
        awaited: fc.boolean(),
        pause: fc.boolean(),
      })
      .map((o) => ({ kind: 'zero' as const, ...o, length: Math.min(o.length, SIZE - o.offset) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('generation', 'settings', 'sas', 'bookmark')
      .map((what) => ({ kind: 'change' as const, what })),
  },
);

describe('MobilityAgent transitions (in memory)', () => {
  it('replaying every generation in order reproduces the disks, whatever switches happen mid-write', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const t = await setup(path.join(root, `switch-${run++}`));
        let cfg = config();
        t.setConfig({ kind: 'valid', config: cfg });
        await t.agent.start();
        const pending: Promise<void>[] = [];
        let bookmarks = 0;
        // Crash consistency: a data write acknowledged before another was issued is shipped first.
        const tracked: { disk: number; offset: number; length: number; fill: number; before: number[] }[] =
          [];
        const acked: number[] = [];
        for (const op of ops) {
          if (op.kind === 'change') {
            if (op.what === 'generation') cfg = config({ ...cfg, generation: cfg.generation + 1 });
            if (op.what === 'settings') cfg = config({ ...cfg, flushIntervalMs: cfg.flushIntervalMs + 10 });
            if (op.what === 'sas')
              cfg = config({
                ...cfg,
                cache: fakeCacheCredentials({
                  generation: cfg.generation,
                  tag: `${op.what}${pending.length}`,
                }),
              });
            if (op.what === 'bookmark') {
              cfg = config({ ...cfg, appConsistentRequest: (cfg.appConsistentRequest ?? 0) + 1 });
              bookmarks++;
            }
            t.setConfig({ kind: 'valid', config: cfg });
            // Keep writing while the poll applies it (a switch waits on the sequence file's fsyncs).
            await t.pollStarted();
            continue;
          }
          const device = t.disks.exports.get(op.disk === 0 ? 'os' : 'data')!;
          let p: Promise<void>;
          if (op.kind === 'write') {
            const id = tracked.length;
            const fill = id + 1;
            tracked.push({ disk: op.disk, offset: op.offset, length: op.length, fill, before: [...acked] });
            p = device.write(op.offset, Buffer.alloc(op.length, fill), { fua: false }).then(() => {
              acked.push(id);
            });
          } else {
            p = device.writeZeroes(op.offset, op.length, { fua: false, mayTrim: true });
          }
          if (op.awaited) await p;
          else pending.push(p);
          if (op.pause) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await Promise.all(pending);
        const last = cfg;
        await t.until('the last config applied', () => {
          const s = t.agent.status();
          return s.generation === last.generation && s.lastSequence > 0;
        });
        await t.agent.stop();

        const deltas = t.sink.deltas();
        const generations = [...new Set(deltas.map((d) => d.generation))];
        for (const g of generations) {
          const seqs = deltas.filter((d) => d.generation === g).map((d) => d.sequence);
          expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        }
        const entries = deltas.flatMap((d) => d.entries);
        const position = tracked.map((w) =>
          entries.findIndex(
            (e) =>
              'data' in e &&
              e.disk === w.disk &&
              e.offset <= w.offset &&
              e.offset + e.data.length >= w.offset + w.length &&
              e.data[w.offset - e.offset] === w.fill &&
              e.data[w.offset + w.length - 1 - e.offset] === w.fill,
          ),
        );
        for (const [id, w] of tracked.entries()) {
          expect(position[id]).toBeGreaterThanOrEqual(0);
          for (const earlier of w.before) expect(position[earlier]).toBeLessThan(position[id]!);
        }
        const replica = replay(t.initial, deltas);
        for (let i = 0; i < 2; i++) expect(replica[i]!.equals(t.inner[i]!.snapshot())).toBe(true);
        if (bookmarks > 0 && deltas.some((d) => d.entries.length > 0)) {
          expect(deltas.some((d) => d.appConsistent)).toBe(true);
        }
        expect(t.agent.status()).toMatchObject({ health: 'Stopped', heldBytes: 0 });
        expect(t.agent.status().resyncReason).toBeUndefined();
      }),
      { numRuns: 25 },
    );
  });

  it('uploads with new credentials as soon as the config carries them, numbers going on', async () => {
    const t = await setup(path.join(root, 'sas'));
    t.setConfig({ kind: 'valid', config: config() });
    await t.agent.start();
    await t.disks.exports.get('os')!.write(0, Buffer.alloc(512, 1), { fua: false });
    await t.until('first delta', () => t.sink.blobs.size === 1);
    t.setConfig({
      kind: 'valid',
      config: config({ cache: fakeCacheCredentials({ tag: 'b' }) }),
    });
    await t.polled();
    await t.disks.exports.get('os')!.write(512, Buffer.alloc(512, 2), { fua: false });
    await t.until('second delta', () => t.sink.blobs.size === 2);
    await t.agent.stop();
    expect([...t.sink.blobs.values()].map((b) => b.url.slice(-1))).toEqual(['a', 'b']);
    expect(t.sink.deltas().map((d) => [d.generation, d.sequence])).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it('asks for a resync when writes were made while a generation was off, then resumed', async () => {
    const t = await setup(path.join(root, 'gap'));
    t.setConfig({ kind: 'valid', config: config() });
    await t.agent.start();
    const os0 = t.disks.exports.get('os')!;
    await os0.write(0, Buffer.alloc(512, 1), { fua: false });
    t.setConfig({ kind: 'absent' });
    await t.until('replication off', () => t.agent.status().health === 'NotReplicating');
    await os0.write(512, Buffer.alloc(512, 2), { fua: false });
    t.setConfig({ kind: 'invalid', problem: 'x: bad' });
    await t.until('config error', () => t.agent.status().configError === 'x: bad');
    t.setConfig({ kind: 'valid', config: config() });
    await t.until('replication on again', () => t.agent.status().generation === 1);
    expect(t.agent.status().resyncReason).toMatch(/1 writes were served while replication was off/);
    expect(t.agent.status().configError).toBeUndefined();

    // A new generation is the resync: the reason goes away.
    t.setConfig({ kind: 'valid', config: config({ generation: 2 }) });
    await t.until('generation 2', () => t.agent.status().generation === 2);
    expect(t.agent.status().resyncReason).toBeUndefined();
    await t.agent.stop();
  });

  it('does not ask for a resync for writes made before the first enable of a generation', async () => {
    const t = await setup(path.join(root, 'first'));
    await t.agent.start();
    await t.disks.exports.get('data')!.write(0, Buffer.alloc(4096, 9), { fua: false });
    t.setConfig({ kind: 'valid', config: config({ generation: 7 }) });
    await t.until('generation 7', () => t.agent.status().generation === 7);
    expect(t.agent.status().resyncReason).toBeUndefined();
    await t.agent.stop();
    expect(t.sink.json.get('rg/vm/agent.json')).toMatchObject({ health: 'Stopped', generation: 7 });
  });
});

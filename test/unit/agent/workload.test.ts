/**
 * The built-in workload generator on in-memory disks: the rate over simulated time (ManualClock),
 * the same writes and bytes for the same seed, the hot-spot's 80/5 split, and spec validation.
 */
import { describe, expect, it } from 'vitest';

import type { BlockDevice } from '../../../agent/blockDevice';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import {
  MB,
  parseWorkloadSpec,
  runWorkload,
  type WorkloadSpec,
  WorkloadPlan,
  type WorkloadStats,
} from '../../../agent/workload';
import { ManualClock, SystemClock } from '../../../shared/clock';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger, silentLogger } from '../../../shared/logger';

const MiB = 1024 * 1024;

interface Write {
  disk: string;
  offset: number;
  length: number;
  at: number;
}

/** Records every write (and the clock time it was made) before passing it on. */
class RecordingDevice implements BlockDevice {
  constructor(
    readonly inner: MemoryBlockDevice,
    private readonly clock: { now(): number },
    readonly writes: Write[] = [],
  ) {}
  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Promise<Buffer> {
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void> {
    this.writes.push({ disk: this.name, offset, length: data.length, at: this.clock.now() });
    return this.inner.write(offset, data, options);
  }
  writeZeroes(offset: number, length: number, options: { fua: boolean; mayTrim: boolean }): Promise<void> {
    return this.inner.writeZeroes(offset, length, options);
  }
  trim(offset: number, length: number): Promise<void> {
    return this.inner.trim(offset, length);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
}

function disks(clock: { now(): number }, sizes: number[]): RecordingDevice[] {
  const writes: Write[] = [];
  return sizes.map((size, i) => new RecordingDevice(new MemoryBlockDevice(`d${i}`, size), clock, writes));
}

/** Runs a workload on a ManualClock, stepping time until it ends. */
async function simulate(
  devices: BlockDevice[],
  spec: WorkloadSpec,
  clock: ManualClock,
  stepMs = 1000,
): Promise<WorkloadStats> {
  let done: WorkloadStats | undefined;
  let failed: unknown;
  runWorkload(devices, spec, { clock, logger: silentLogger }).then(
    (s) => (done = s),
    (err: unknown) => (failed = err),
  );
  for (let i = 0; i < 100_000 && !done && !failed; i++) await clock.advance(stepMs);
  if (failed) throw failed;
  return done!;
}

describe('runWorkload rate (token bucket on the injected clock)', () => {
  it.each([
    { pattern: 'random4k' as const, rateMBps: 2, blockSize: 4096 },
    { pattern: 'sequential' as const, rateMBps: 50, blockSize: 64 * 1024 },
    { pattern: 'hotspot' as const, rateMBps: 0.5, blockSize: 4096 },
  ])('holds $rateMBps MB/s of $pattern writes within 1 % over 10 s and in every second', async (c) => {
    const clock = new ManualClock(0);
    const devices = disks(clock, [256 * MiB]);
    const stats = await simulate(
      devices,
      { pattern: c.pattern, rateMBps: c.rateMBps, seed: 3, durationMs: 10_000 },
      clock,
    );
    const expected = c.rateMBps * MB * 10;
    expect(stats).toMatchObject({ pattern: c.pattern, elapsedMs: 10_000, stoppedBy: 'duration' });
    expect(Math.abs(stats.bytes - expected) / expected).toBeLessThan(0.01);
    expect(stats.mbPerSecond).toBeCloseTo(stats.bytes / MB / 10, 9);
    expect(stats.writes).toBe(devices[0]!.writes.length);
    // No second runs ahead: at most one block plus the 50 ms burst above the rate.
    const writes = devices[0]!.writes;
    for (let second = 0; second < 10; second++) {
      const bytes = writes
        .filter((w) => w.at >= second * 1000 && w.at < (second + 1) * 1000)
        .reduce((n, w) => n + w.length, 0);
      expect(Math.abs(bytes - c.rateMBps * MB)).toBeLessThanOrEqual(c.blockSize + c.rateMBps * MB * 0.05);
    }
  });

  it('stops at totalBytes exactly, shortening the last write', async () => {
    const clock = new ManualClock(0);
    const devices = disks(clock, [4 * MiB]);
    const stats = await simulate(
      devices,
      { pattern: 'sequential', rateMBps: 100, seed: 1, totalBytes: 200 * 512 },
      clock,
    );
    expect(stats).toMatchObject({ bytes: 200 * 512, writes: 2, stoppedBy: 'totalBytes' });
    expect(devices[0]!.writes.map((w) => [w.offset, w.length])).toEqual([
      [0, 65536],
      [65536, 200 * 512 - 65536],
    ]);
  });

  it('stops after the write in flight when the signal aborts, and returns what it did', async () => {
    const clock = new ManualClock(0);
    const devices = disks(clock, [16 * MiB]);
    const stop = new AbortController();
    const run = runWorkload(
      devices,
      { pattern: 'random4k', rateMBps: 1, seed: 9 },
      { clock, signal: stop.signal, logger: silentLogger },
    );
    await clock.advance(3000);
    stop.abort();
    const stats = await run;
    expect(stats.stoppedBy).toBe('signal');
    expect(stats.bytes).toBe(devices[0]!.writes.reduce((n, w) => n + w.length, 0));
    expect(Math.abs(stats.bytes - 3 * MB)).toBeLessThan(8192);
    await clock.advance(3000);
    expect(devices[0]!.writes.length).toBe(stats.writes);
  });

  it('times each write: p50 and p99 of a device that takes 5 ms per write', async () => {
    const slow: BlockDevice = Object.assign(new MemoryBlockDevice('slow', MiB), {
      write: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
    });
    const logger = new RecordingLogger();
    const stats = await runWorkload(
      [slow],
      { pattern: 'random4k', rateMBps: 1000, seed: 1, totalBytes: 20 * 4096 },
      { clock: new SystemClock(), logger },
    );
    expect(stats.writes).toBe(20);
    expect(stats.latencyMs.p50).toBeGreaterThanOrEqual(4.5);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50);
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(stats.latencyMs.p99);
    expect(logger.records.map((r) => r.msg)).toEqual(['Workload started', 'Workload finished']);
  });

  it('rejects with the error of a failing write', async () => {
    const broken: BlockDevice = Object.assign(new MemoryBlockDevice('broken', MiB), {
      write: () => Promise.reject(new Error('disk on fire')),
    });
    await expect(
      runWorkload(
        [broken],
        { pattern: 'sequential', rateMBps: 10, seed: 1 },
        { clock: new ManualClock(0), logger: silentLogger },
      ),
    ).rejects.toThrow('disk on fire');
  });
});

describe('runWorkload determinism', () => {
  const sizes = [8 * MiB, 3 * MiB];

  async function contents(spec: WorkloadSpec): Promise<{ stats: WorkloadStats; disks: Buffer[] }> {
    const clock = new ManualClock(0);
    const devices = disks(clock, sizes);
    const stats = await simulate(devices, spec, clock, 50);
    return { stats, disks: devices.map((d) => d.inner.snapshot()) };
  }

  it.each(['sequential', 'random4k', 'hotspot'] as const)(
    '%s: the same seed writes the same bytes, which the plan predicts; another seed differs',
    async (pattern) => {
      const spec = { pattern, rateMBps: 200, seed: 42, totalBytes: 6 * MiB + 512 };
      const a = await contents(spec);
      const b = await contents(spec);
      expect(a.stats.bytes).toBe(spec.totalBytes);
      expect(b.stats.writes).toBe(a.stats.writes);
      for (let i = 0; i < sizes.length; i++) expect(a.disks[i]!.equals(b.disks[i]!), `disk ${i}`).toBe(true);

      const predicted = sizes.map((size) => Buffer.alloc(size));
      const plan = new WorkloadPlan(parseWorkloadSpec(spec), sizes);
      for (let left = spec.totalBytes; left > 0;) {
        const w = plan.next(left);
        w.data.copy(predicted[w.disk]!, w.offset);
        left -= w.data.length;
      }
      for (let i = 0; i < sizes.length; i++)
        expect(a.disks[i]!.equals(predicted[i]!), `disk ${i}`).toBe(true);

      const other = await contents({ ...spec, seed: 43 });
      expect(other.disks[0]!.equals(a.disks[0]!)).toBe(false);
    },
  );

  it('disks take turns; only the disks named are written', async () => {
    const clock = new ManualClock(0);
    const devices = disks(clock, [MiB, MiB, MiB]);
    await simulate(
      devices,
      { pattern: 'random4k', rateMBps: 100, seed: 5, totalBytes: 12 * 4096, disks: [2, 0] },
      clock,
    );
    expect(devices[0]!.writes.map((w) => w.disk)).toEqual(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? 'd0' : 'd2')),
    );
  });

  it('sequential writes run from offset 0 in block steps and wrap at the end of the disk', () => {
    const plan = new WorkloadPlan(
      parseWorkloadSpec({ pattern: 'sequential', rateMBps: 1, seed: 1, blockSize: 3 * 512 }),
      [8 * 512],
    );
    const writes = Array.from({ length: 4 }, () => plan.next()).map((w) => [w.offset, w.data.length]);
    expect(writes).toEqual([
      [0, 1536],
      [1536, 1536],
      [3072, 1024],
      [0, 1536],
    ]);
  });
});

describe('runWorkload patterns', () => {
  const SIZE = 64 * MiB;
  const slots = SIZE / 4096;

  it('hotspot: 80 % of writes land in a window of 5 % of each disk, the rest outside it', async () => {
    const clock = new ManualClock(0);
    const devices = disks(clock, [SIZE, SIZE / 2]);
    const spec = { pattern: 'hotspot' as const, rateMBps: 1000, seed: 11, totalBytes: 40_000 * 4096 };
    await simulate(devices, spec, clock, 100);
    const plan = new WorkloadPlan(parseWorkloadSpec(spec), [SIZE, SIZE / 2]);
    for (const [i, device] of devices.entries()) {
      const window = plan.hotWindow(i);
      expect(window.length / device.size).toBeCloseTo(0.05, 3);
      const writes = device.writes.filter((w) => w.disk === device.name);
      expect(writes).toHaveLength(20_000);
      const hot = writes.filter((w) => w.offset >= window.offset && w.offset < window.offset + window.length);
      expect(hot.length / writes.length).toBeGreaterThan(0.785);
      expect(hot.length / writes.length).toBeLessThan(0.815);
      // The cold fifth spreads over the other 95 %: both sides of the window get their share.
      const below = writes.filter((w) => w.offset < window.offset).length;
      const expectedBelow = (writes.length - hot.length) * (window.offset / (device.size - window.length));
      expect(Math.abs(below - expectedBelow)).toBeLessThan(writes.length * 0.02);
    }
  });

  it('hotspot: the window is seeded, so another seed puts it elsewhere', () => {
    const windows = [1, 2, 3, 4].map((seed) =>
      new WorkloadPlan(parseWorkloadSpec({ pattern: 'hotspot', rateMBps: 1, seed }), [SIZE]).hotWindow(0),
    );
    expect(new Set(windows.map((w) => w.offset)).size).toBe(4);
    for (const w of windows) expect(w.offset + w.length).toBeLessThanOrEqual(SIZE);
  });

  it('random4k: 4 KiB writes at 4 KiB-aligned offsets spread evenly over the disk', () => {
    const plan = new WorkloadPlan(parseWorkloadSpec({ pattern: 'random4k', rateMBps: 1, seed: 7 }), [SIZE]);
    const sixteenths = new Array<number>(16).fill(0);
    for (let i = 0; i < 32_000; i++) {
      const w = plan.next();
      expect(w.data.length).toBe(4096);
      expect(w.offset % 4096).toBe(0);
      sixteenths[Math.floor((w.offset / 4096 / slots) * 16)]!++;
    }
    for (const n of sixteenths) expect(Math.abs(n - 2000)).toBeLessThan(200);
  });
});

describe('workload spec validation', () => {
  const good: WorkloadSpec = { pattern: 'random4k', rateMBps: 10, seed: 1 };

  it('fills in the block size per pattern', () => {
    expect(parseWorkloadSpec({ ...good, pattern: 'sequential' }).blockSize).toBe(65536);
    expect(parseWorkloadSpec(good).blockSize).toBe(4096);
    expect(parseWorkloadSpec({ ...good, pattern: 'hotspot', blockSize: 8192 }).blockSize).toBe(8192);
  });

  it.each([
    [{ rateMBps: 0 }, 'rateMBps', /above 0, e\.g\. 10/],
    [{ rateMBps: -5 }, 'rateMBps', /above 0/],
    [{ rateMBps: '10' }, 'rateMBps', /number of MB\/s/],
    [{ pattern: 'zigzag' }, 'pattern', /sequential, random4k or hotspot/],
    [{ seed: 1.5 }, 'seed', /integer/],
    [{ seed: -1 }, 'seed', /from 0 to 4294967295/],
    [{ blockSize: 1000 }, 'blockSize', /multiple of 512/],
    [{ blockSize: 64 * MiB }, 'blockSize', /at most 33554432/],
    [{ totalBytes: 0 }, 'totalBytes', /above 0/],
    [{ durationMs: 0 }, 'durationMs', /leave it out to run until stopped/],
    [{ disks: [] }, 'disks', /at least one disk/],
    [{ disks: [0, 0] }, 'disks', /twice/],
    [{ disks: [-1] }, 'disks.0', /from 0/],
    [{ rate: 10 }, '(spec)', /unknown field\(s\) rate/],
  ])('%j is an InvalidArgument naming %s', (patch, field, problem) => {
    let caught: unknown;
    try {
      parseWorkloadSpec({ ...good, ...patch });
    } catch (err) {
      caught = err;
    }
    expect(isTidemarkError(caught, 'InvalidArgument')).toBe(true);
    const error = caught as Error & { details: { fields: string[] } };
    expect(error.details.fields).toContain(field);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain(`${field}: `);
  });

  it('lists every bad field at once', () => {
    expect(() => parseWorkloadSpec({ pattern: 'x', rateMBps: 0 })).toThrow(
      /pattern: .*; rateMBps: .*; seed: /,
    );
  });

  it('checks disk indexes and block size against the disks at run time', async () => {
    const options = { clock: new ManualClock(0), logger: silentLogger };
    const two = [new MemoryBlockDevice('os', MiB), new MemoryBlockDevice('tiny', 2048)];
    await expect(runWorkload(two, { ...good, disks: [0, 2] }, options)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: /disks: index 2 is out of range; there are 2 disks \(0 to 1\)/,
    });
    await expect(runWorkload(two, good, options)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: /blockSize: 4096 bytes is larger than disk tiny \(2048 bytes\)/,
    });
    await expect(runWorkload([], good, options)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ByteBudget, Stager } from '../../../shared/replication/stager';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface FakeCache {
  /** Sizes of the deltas present, by sequence. */
  sizes: Map<number, number>;
  fetched: number[];
  staged: number[];
}

/** A stager over a fake cache whose downloads finish in a shuffled order. */
function stager(
  cache: FakeCache,
  options: { from?: number; maxHeldBytes?: number; delays?: number[]; bad?: number; fail?: number } = {},
): Stager<number, number> {
  let calls = 0;
  return new Stager<number, number>({
    from: options.from ?? 1,
    fetch: async (sequence, admit) => {
      cache.fetched.push(sequence);
      const delay = options.delays?.[calls++ % options.delays.length] ?? 0;
      for (let i = 0; i < delay; i++) await tick();
      if (sequence === options.fail) throw new Error(`download ${sequence} failed`);
      const size = cache.sizes.get(sequence);
      if (size === undefined) return undefined;
      return (await admit(size)) ? sequence : undefined;
    },
    stage: (sequence, fetched) => {
      expect(fetched).toBe(sequence);
      cache.staged.push(sequence);
      return { item: sequence, final: sequence === options.bad };
    },
    concurrency: 4,
    maxAhead: 8,
    maxHeldBytes: options.maxHeldBytes ?? 100,
  });
}

function fakeCache(sizes: number[], from = 1): FakeCache {
  return {
    sizes: new Map(sizes.map((size, i) => [from + i, size])),
    fetched: [],
    staged: [],
  };
}

describe('Stager', () => {
  it('stages in sequence order whatever order downloads finish in, and ends at the first miss', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }),
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 8 }),
        async (sizes, delays) => {
          const cache = fakeCache(sizes);
          const s = stager(cache, { delays });
          const got: number[] = [];
          for (let next = await s.next(); next; next = await s.next()) {
            got.push(next.item);
            s.release(next.bytes);
          }
          await s.close();
          expect(got).toEqual(sizes.map((_, i) => i + 1));
          expect(cache.staged).toEqual(got);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('holds no more than its byte budget, except one delta alone, and never deadlocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (sizes, delays, perBatch) => {
          const cache = fakeCache(sizes);
          let budget = 0;
          const s = new Stager<number, number>({
            from: 1,
            fetch: async (sequence, admit) => {
              for (let i = 0; i < delays[sequence % delays.length]!; i++) await tick();
              const size = cache.sizes.get(sequence);
              if (size === undefined || !(await admit(size))) return undefined;
              budget += size;
              // A single delta may exceed the budget, but only when nothing else is held.
              expect(budget <= 100 || budget === size).toBe(true);
              return sequence;
            },
            stage: (sequence) => ({ item: sequence, final: false }),
            concurrency: 4,
            maxAhead: 8,
            maxHeldBytes: 100,
          });
          const got: number[] = [];
          for (;;) {
            // A writer taking up to `perBatch` ready deltas, then giving their bytes back.
            const first = await s.next();
            if (!first) break;
            const batch = [first];
            while (batch.length < perBatch && s.peek()) batch.push(s.take()!);
            for (let i = 0; i < 3; i++) await tick();
            for (const b of batch) {
              got.push(b.item);
              budget -= b.bytes;
              s.release(b.bytes);
            }
          }
          await s.close();
          expect(got).toEqual(sizes.map((_, i) => i + 1));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stops after a final (bad) delta: nothing after it is staged', async () => {
    const cache = fakeCache([10, 10, 10, 10, 10, 10]);
    const s = stager(cache, { bad: 3 });
    const got: number[] = [];
    for (let next = await s.next(); next; next = await s.next()) got.push(next.item);
    await s.close();
    expect(got).toEqual([1, 2, 3]);
    expect(cache.staged).toEqual([1, 2, 3]);
  });

  it('looks once more for a missing delta when the writer has caught up, and picks it up if it landed', async () => {
    const cache = fakeCache([10, 10]);
    const s = stager(cache);
    expect((await s.next())?.item).toBe(1);
    // The writer is busy with delta 1 while the stager finds 3 missing; 3 lands meanwhile.
    for (let i = 0; i < 5; i++) await tick();
    cache.sizes.set(3, 10);
    expect((await s.next())?.item).toBe(2);
    expect((await s.next())?.item).toBe(3);
    expect(await s.next()).toBeUndefined();
    await s.close();
    // 3 was asked for twice at least (the miss and the second look), 4 at the end twice too.
    expect(cache.fetched.filter((n) => n === 4).length).toBeGreaterThanOrEqual(2);
  });

  it('tells where the next delta stands: downloading, staged, or not found', async () => {
    let release!: () => void;
    const bodyArrives = new Promise<void>((resolve) => (release = resolve));
    const s = new Stager<number, number>({
      from: 1,
      fetch: async (sequence, admit) => {
        if (sequence > 2) return undefined;
        if (!(await admit(1))) return undefined;
        if (sequence === 2) await bodyArrives;
        return sequence;
      },
      stage: (sequence) => ({ item: sequence, final: false }),
      concurrency: 4,
      maxAhead: 8,
      maxHeldBytes: 100,
    });
    expect((await s.next())?.item).toBe(1);
    for (let i = 0; i < 5; i++) await tick();
    expect(s.peek()).toBeUndefined();
    expect(s.nextState()).toBe('downloading');
    release();
    await s.waitNext();
    expect(s.nextState()).toBe('staged');
    expect(s.take()?.item).toBe(2);
    // 3 is asked for and missing: waitNext returns once that is known, without looking again.
    await s.waitNext();
    expect(s.nextState()).toBe('none');
    expect(await s.next()).toBeUndefined();
    await s.close();
  });

  it('hands a download error to the writer in order, after the deltas before it', async () => {
    const cache = fakeCache([10, 10, 10, 10]);
    const s = stager(cache, { fail: 3, delays: [3, 0, 1] });
    expect((await s.next())?.item).toBe(1);
    expect((await s.next())?.item).toBe(2);
    await expect(s.next()).rejects.toThrow('download 3 failed');
    await s.close();
  });

  it('close() returns only once no download it started is still running', async () => {
    let running = 0;
    const s = new Stager<number, number>({
      from: 1,
      fetch: async (sequence, admit) => {
        running++;
        try {
          for (let i = 0; i < 20; i++) await tick();
          return (await admit(1)) ? sequence : undefined;
        } finally {
          running--;
        }
      },
      stage: (sequence) => ({ item: sequence, final: false }),
      concurrency: 4,
      maxAhead: 8,
      maxHeldBytes: 100,
    });
    await tick();
    expect(running).toBeGreaterThan(0);
    await s.close();
    expect(running).toBe(0);
    expect(await s.next()).toBeUndefined();
  });
});

describe('ByteBudget', () => {
  it('grants in order, lets one request through alone whatever its size, and refuses once closed', async () => {
    const b = new ByteBudget(10);
    expect(await b.acquire(30)).toBe(true);
    const order: string[] = [];
    const small = b.acquire(1).then((ok) => order.push(`small ${ok}`));
    const second = b.acquire(5).then((ok) => order.push(`second ${ok}`));
    await tick();
    expect(order).toEqual([]);
    b.release(30);
    await Promise.all([small, second]);
    expect(order).toEqual(['small true', 'second true']);
    expect(b.held).toBe(6);
    const blocked = b.acquire(5);
    b.close();
    expect(await blocked).toBe(false);
    expect(await b.acquire(1)).toBe(false);
  });
});

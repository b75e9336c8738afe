import { describe, expect, it } from 'vitest';

import type { HostJson } from '../../../host/hostJson';
import { RandomizedExponentialBackoff } from '../../../host/triggers/queue/backoff';
import { parseQueuesOptions, queuesOptions, queuesSectionSchema } from '../../../host/triggers/queue/options';
import { isTidemarkError } from '../../../shared/errors';

const parse = (section: unknown, cores = 4) => parseQueuesOptions(queuesSectionSchema.parse(section), cores);
const hostJson = (queues: unknown): HostJson => ({ version: '2.0', extensions: { queues } });

describe('extensions.queues options', () => {
  it('has the Azure defaults', () => {
    expect(parse({}, 4)).toEqual({
      batchSize: 16,
      newBatchThreshold: 32, // batchSize / 2 × cores
      maxPollingIntervalMs: 60_000,
      visibilityTimeoutMs: 0,
      maxDequeueCount: 5,
      messageEncoding: 'base64',
    });
    expect(queuesOptions({ version: '2.0' }).batchSize).toBe(16);
  });

  it('derives newBatchThreshold from batchSize with integer division, unless set', () => {
    expect(parse({ batchSize: 5 }, 3).newBatchThreshold).toBe(6);
    expect(parse({ batchSize: 5, newBatchThreshold: 0 }, 3).newBatchThreshold).toBe(0);
  });

  it('takes TimeSpan strings or milliseconds and keys in any casing', () => {
    const o = parse({
      MaxPollingInterval: '00:00:02',
      VISIBILITYTIMEOUT: 1500,
      MessageEncoding: 'None',
      maxdequeuecount: 2,
    });
    expect(o).toMatchObject({
      maxPollingIntervalMs: 2000,
      visibilityTimeoutMs: 1500,
      messageEncoding: 'none',
      maxDequeueCount: 2,
    });
    expect(parse({ maxPollingInterval: '00:00:00.250' }).maxPollingIntervalMs).toBe(250);
  });

  it.each([
    [{ batchSize: 33 }, /batchSize: batchSize must be at most 32/],
    [{ batchSize: 0 }, /batchSize must be at least 1/],
    [{ maxPollingInterval: 50 }, /maxPollingInterval must be at least 100 ms/],
    [{ maxPollingInterval: 'soon' }, /"soon" is neither a TimeSpan/],
    [{ maxDequeueCount: 0 }, /maxDequeueCount must be at least 1/],
    [{ messageEncoding: 'utf8' }, /messageEncoding/],
    [{ newBatchThreshold: -1 }, /newBatchThreshold must not be negative/],
  ])('refuses %j with a clear InvalidConfig error', (section, message) => {
    let error: unknown;
    try {
      queuesOptions(hostJson(section));
    } catch (err) {
      error = err;
    }
    expect(isTidemarkError(error, 'InvalidConfig')).toBe(true);
    expect((error as Error).message).toMatch(/host\.json extensions\.queues is invalid/);
    expect((error as Error).message).toMatch(message);
  });
});

describe('polling back-off', () => {
  it('starts at the minimum, grows exponentially with ±20 % jitter, caps, and resets after messages', () => {
    const fixed = (r: number) => new RandomizedExponentialBackoff(100, 1000, undefined, () => r);
    const middle = fixed(0.5); // factor 1.0
    expect([1, 2, 3, 4, 5, 6].map(() => middle.next(false))).toEqual([100, 200, 300, 500, 900, 1000]);
    expect(middle.next(false)).toBe(1000);
    expect(middle.next(true)).toBe(100);
    expect(middle.next(false)).toBe(200);

    const low = fixed(0); // factor 0.8
    low.next(false);
    expect(low.next(false)).toBe(180);
    const high = fixed(0.999999); // factor → 1.2
    high.next(false);
    expect(high.next(false)).toBe(220);
  });

  it('stays at the maximum when minimum and maximum are equal', () => {
    const b = new RandomizedExponentialBackoff(100, 100);
    expect([b.next(false), b.next(false), b.next(true)]).toEqual([100, 100, 100]);
  });
});

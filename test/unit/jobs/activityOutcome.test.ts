import { describe, expect, it } from 'vitest';

import { TidemarkError } from '../../../shared/errors';
import { activityOutcome, failureMessage } from '../../../shared/jobs/activityOutcome';
import { jobInstanceId } from '../../../shared/jobs/instanceIds';

describe('activityOutcome', () => {
  it('wraps a value', async () => {
    expect(await activityOutcome(() => Promise.resolve(3))).toEqual({ ok: true, value: 3 });
  });

  it('returns user errors (not retried) with their hint', async () => {
    const outcome = await activityOutcome(() =>
      Promise.reject(new TidemarkError('Conflict', 'VM is Stopped.', { hint: 'Start it.' })),
    );
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'Conflict', message: 'VM is Stopped.', hint: 'Start it.' },
    });
    if (!outcome.ok) expect(failureMessage(outcome.error)).toBe('VM is Stopped. Start it.');
  });

  it('throws system and retryable errors, so the orchestration retries them', async () => {
    await expect(activityOutcome(() => Promise.reject(new Error('socket hang up')))).rejects.toThrow(
      'socket',
    );
    await expect(
      activityOutcome(() => Promise.reject(new TidemarkError('Conflict', 'changed', { retryable: true }))),
    ).rejects.toThrow('changed');
    await expect(
      activityOutcome(() => Promise.reject(new TidemarkError('StorageUnavailable', 'down'))),
    ).rejects.toThrow('down');
  });
});

describe('jobInstanceId', () => {
  it('is one id per VM and kind, lower-case', () => {
    expect(jobInstanceId('EnableReplication', 'Shop-RG', 'Web1')).toBe('enable-shop-rg-web1');
  });
});

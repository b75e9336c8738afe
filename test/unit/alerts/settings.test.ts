import { describe, expect, it } from 'vitest';

import { parseAlertQuery } from '../../../shared/alerts/query';
import { checkAlertSecret, readAlertSettings } from '../../../shared/alerts/settings';
import { isTidemarkError } from '../../../shared/errors';
import { problemFor } from '../../../shared/http/problem';

const SECRET = 'correct-horse-battery-staple';

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

describe('alert settings', () => {
  it('reads TIDEMARK_ALERT_SECRET; empty means unset', () => {
    expect(readAlertSettings({})).toEqual({});
    expect(readAlertSettings({ TIDEMARK_ALERT_SECRET: '' })).toEqual({});
    expect(readAlertSettings({ TIDEMARK_ALERT_SECRET: SECRET })).toEqual({ secret: SECRET });
  });

  it('refuses a short secret as a configuration error', () => {
    const err = refusal(() => readAlertSettings({ TIDEMARK_ALERT_SECRET: 'short' }));
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    expect((err as Error).message).toMatch(/TIDEMARK_ALERT_SECRET: must be at least 16/);
  });

  it('checks the secret only when one is set; 401 when missing or wrong', () => {
    expect(() => checkAlertSecret({}, undefined)).not.toThrow();
    expect(() => checkAlertSecret({}, 'anything')).not.toThrow();
    expect(() => checkAlertSecret({ secret: SECRET }, SECRET)).not.toThrow();
    for (const presented of [undefined, '', 'wrong', `${SECRET}x`, SECRET.slice(1)]) {
      const err = refusal(() => checkAlertSecret({ secret: SECRET }, presented));
      expect(isTidemarkError(err, 'Unauthorized'), String(presented)).toBe(true);
      expect(problemFor(err).status).toBe(401);
      expect(problemFor(err).hint).toMatch(/x-tidemark-alert-secret/);
      expect(JSON.stringify(problemFor(err))).not.toContain(SECRET);
    }
  });
});

describe('parseAlertQuery', () => {
  const q = (text: string): ReturnType<typeof parseAlertQuery> => parseAlertQuery(new URLSearchParams(text));

  it('defaults to latestProcessed, no dry run', () => {
    expect(q('code=abc')).toEqual({ recoveryPoint: 'latestProcessed', dryRun: false });
  });

  it('takes every recovery-point form and the dry-run flag', () => {
    expect(q('recoveryPoint=latest').recoveryPoint).toBe('latest');
    expect(q('recoveryPoint=latestAppConsistent').recoveryPoint).toBe('latestAppConsistent');
    expect(q('recoveryPoint=rp-2-40').recoveryPoint).toEqual({ id: 'rp-2-40' });
    expect(q('recoveryPoint=2026-03-02T09:00:00Z').recoveryPoint).toEqual({ time: '2026-03-02T09:00:00Z' });
    expect(q('dryRun=true').dryRun).toBe(true);
    expect(q('dryRun=TRUE').dryRun).toBe(true);
    expect(q('dryRun').dryRun).toBe(true);
    expect(q('dryRun=false').dryRun).toBe(false);
    expect(q('secret=s3').secret).toBe('s3');
  });

  it('refuses a bad value, naming each', () => {
    const err = refusal(() => q('recoveryPoint=yesterday&dryRun=maybe'));
    expect(isTidemarkError(err, 'InvalidRequest')).toBe(true);
    expect(problemFor(err).errors?.map((e) => e.path)).toEqual(['recoveryPoint', 'dryRun']);
    expect(problemFor(err).status).toBe(400);
  });
});

import { describe, expect, it } from 'vitest';

import { isTidemarkError, type TidemarkError } from '../../../shared/errors';
import type { RecoveryPoint, RecoveryPointType } from '../../../shared/recoveryPoints/types';
import {
  latestFallbackNote,
  newestPoint,
  selectPoint,
  shutdownWarning,
} from '../../../shared/workflows/failoverPoint';

function point(sequence: number, type: RecoveryPointType = 'CrashConsistent'): RecoveryPoint {
  return {
    resourceGroup: 'rg',
    vm: 'web1',
    id: `rp-1-${sequence}`,
    type,
    generation: 1,
    sequence,
    time: sequence * 1000,
    cutAt: sequence * 1000 + 5,
    disks: [],
  };
}

// Newest first, as the catalog lists them.
const POINTS = [point(9), point(7, 'AppConsistent'), point(5), point(3, 'AppConsistent')];

function failure(fn: () => unknown): TidemarkError {
  try {
    fn();
  } catch (err) {
    if (isTidemarkError(err)) return err;
    throw err;
  }
  throw new Error('expected a TidemarkError');
}

describe('selectPoint', () => {
  it('latestProcessed is the newest point', () => {
    expect(selectPoint('latestProcessed', POINTS, 'rg/web1')).toEqual({ pointId: 'rp-1-9' });
    expect(newestPoint(POINTS, 'rg/web1').id).toBe('rp-1-9');
  });

  it('latestAppConsistent is the newest app-consistent point', () => {
    expect(selectPoint('latestAppConsistent', POINTS, 'rg/web1')).toEqual({ pointId: 'rp-1-7' });
  });

  it('without an app-consistent point says to use latestProcessed', () => {
    const err = failure(() => selectPoint('latestAppConsistent', [point(9), point(5)], 'rg/web1'));
    expect(err.code).toBe('NotFound');
    expect(err.message).toBe('VM rg/web1 has no app-consistent recovery point.');
    expect(err.hint).toMatch(/"latestProcessed".*rp-1-9/);
    expect(err.retryable).toBe(false);
  });

  it('an id must be one of the points', () => {
    expect(selectPoint({ id: 'rp-1-5' }, POINTS, 'rg/web1')).toEqual({ pointId: 'rp-1-5' });
    const err = failure(() => selectPoint({ id: 'rp-1-6' }, POINTS, 'rg/web1'));
    expect(err.code).toBe('NotFound');
    expect(err.hint).toMatch(/newest is rp-1-9/);
  });

  it('a time is passed on in ms (materializeAt finds the point before it)', () => {
    expect(selectPoint({ time: '1970-01-01T00:00:06Z' }, POINTS, 'rg/web1')).toEqual({ time: 6000 });
    expect(selectPoint({ time: '1970-01-01T02:00:00+02:00' }, POINTS, 'rg/web1')).toEqual({ time: 0 });
  });

  it('no point at all is NotFound for every choice', () => {
    for (const choice of [
      'latestProcessed',
      'latestAppConsistent',
      { id: 'rp-1-1' },
      { time: '2026-01-01T00:00:00Z' },
    ] as const) {
      expect(failure(() => selectPoint(choice, [], 'rg/web1')).code).toBe('NotFound');
    }
  });
});

describe('messages', () => {
  it('say what happened and why', () => {
    expect(latestFallbackNote('the source region eastus does not answer')).toBe(
      '"latest" fell back to the newest recovery point already processed ("latestProcessed") because the source region eastus does not answer.',
    );
    expect(shutdownWarning('rg/web1', 'eastus', 'connection refused')).toMatch(
      /^The source VM rg\/web1 in eastus could not be shut down \(connection refused\); failover went on\./,
    );
  });
});

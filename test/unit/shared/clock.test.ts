import { describe, expect, it } from 'vitest';

import { ManualClock } from '../../../shared/clock';

describe('ManualClock', () => {
  it('fires timers in due order as time advances, never early', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push('c'));
    clock.setTimer(100, () => fired.push('a'));
    clock.setTimer(200, () => fired.push('b'));
    await clock.advance(150);
    expect(fired).toEqual(['a']);
    await clock.advance(200);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(350);
  });

  it('runs timers armed by awaited code during the same advance', async () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        seen.push(clock.now());
      }
    })();
    await clock.advance(30);
    expect(seen).toEqual([10, 20, 30]);
  });

  it('rejects a sleep when aborted', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
  });
});

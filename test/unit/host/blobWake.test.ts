import { describe, expect, it } from 'vitest';

import { ManualClock } from '../../../shared/clock';
import { Wakeup } from '../../../host/triggers/blob/wake';

function track(p: Promise<void>): { done: boolean } {
  const state = { done: false };
  void p.then(() => (state.done = true));
  return state;
}

describe('blob trigger Wakeup', () => {
  it('waits for the host clock', async () => {
    const clock = new ManualClock();
    const wake = new Wakeup(clock, new AbortController().signal);
    const w = track(wake.wait(250));
    await clock.advance(249);
    expect(w.done).toBe(false);
    await clock.advance(1);
    expect(w.done).toBe(true);
  });

  it('ends a wait early on wake(), and keeps a wake that comes while nobody waits', async () => {
    const clock = new ManualClock();
    const wake = new Wakeup(clock, new AbortController().signal);
    const w = track(wake.wait(10_000));
    wake.wake();
    await clock.advance(0);
    expect(w.done).toBe(true);
    expect(clock.pendingTimers).toBe(0);

    wake.wake();
    const kept = track(wake.wait(10_000));
    await clock.advance(0);
    expect(kept.done).toBe(true);
    const next = track(wake.wait(10_000));
    await clock.advance(0);
    expect(next.done).toBe(false);
    wake.wake();
    await clock.advance(0);
    expect(next.done).toBe(true);
  });

  it('ends waits when stopped', async () => {
    const clock = new ManualClock();
    const stop = new AbortController();
    const wake = new Wakeup(clock, stop.signal);
    const w = track(wake.wait(10_000));
    stop.abort();
    await clock.advance(0);
    expect(w.done).toBe(true);
    const after = track(wake.wait(10_000));
    await clock.advance(0);
    expect(after.done).toBe(true);
  });
});

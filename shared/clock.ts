/**
 * Time, injected. Everything that waits for a schedule, a back-off or a timeout takes a Clock, so
 * tests step time with ManualClock.advance() instead of sleeping.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Resolves after `ms`; rejects with the signal's reason when aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      handle.cancel();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const handle = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    // setTimeout caps at 2^31-1 ms; chain for longer waits (durable timers can be days away).
    const MAX = 2_147_483_647;
    let timeout: NodeJS.Timeout;
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      timeout = setTimeout(left > MAX ? arm : fn, Math.min(Math.max(0, left), MAX));
    };
    arm();
    return { cancel: () => clearTimeout(timeout) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

interface PendingTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/** A clock that only moves when told to. Timers fire in due order during advance(). */
export class ManualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private seq = 0;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** How many timers wait; lets tests wait until a component has armed its next timer. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.due > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.due);
      next.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Sets the time (only forward), firing due timers. */
  async advanceTo(time: number | Date): Promise<void> {
    const t = typeof time === 'number' ? time : time.getTime();
    await this.advance(Math.max(0, t - this.current));
  }
}

async function flushMicrotasks(): Promise<void> {
  // Lets chains of awaited promises (and I/O callbacks already queued) run before the next timer.
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The system clock, off by a fixed amount: a machine whose clock is wrong. Timers still run in real time. */
import { type Clock, SystemClock, type TimerHandle } from '../../../shared/clock';

export class SkewedClock implements Clock {
  readonly #system = new SystemClock();

  constructor(readonly offsetMs: number) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return this.#system.setTimer(ms, fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#system.sleep(ms, signal);
  }
}

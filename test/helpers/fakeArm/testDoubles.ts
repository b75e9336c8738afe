/**
 * Test doubles the ARM fabric's tests inject: a credential with a fixed token and a clock whose
 * sleeps end at once (re-exported by ../fakeArm.ts).
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

import type { Clock, TimerHandle } from '../../../shared/clock';

/** A credential that always gives the same token, counting how often it was asked. */
export class StaticTokenCredential implements TokenCredential {
  calls = 0;
  constructor(readonly token = 'test-token') {}
  async getToken(): Promise<AccessToken> {
    this.calls++;
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

/** A clock whose sleeps end at once (time moves by them), recording each wait. */
export class InstantClock implements Clock {
  readonly sleeps: number[] = [];
  #now = Date.UTC(2026, 0, 1);
  now(): number {
    return this.#now;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, 0);
    this.#now += ms;
    return { cancel: () => clearTimeout(t) };
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += ms;
  }
}

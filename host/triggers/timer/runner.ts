/**
 * One timer function's schedule (WJX TimerListener): at start, check the monitor for a missed
 * occurrence or honour runOnStartup; then run at each occurrence. The next timer is armed only
 * after a run (retries included) has finished, so runs never overlap: an overrun makes the next
 * run start right away, past due, and the occurrences it covered are skipped, not queued.
 */
import type { TimerHandle } from '../../../shared/clock';
import type { Logger } from '../../../shared/logger';
import { invokeWithRetry } from '../../core/retry';
import type { HostServices } from '../../plugin';
import type { TimerConfig } from './config';
import { reconcileStatus, type ScheduleStatus, statusJson, StatusStore } from './status';
import { DEFAULT_TIME, formatLocalTime } from './timeZone';

/** A scheduled run that starts later than this after its occurrence is past due. */
export const PAST_DUE_TOLERANCE_MS = 1000;

type Reason = { kind: 'schedule' } | { kind: 'startup' } | { kind: 'pastDue'; missed: number };

export class TimerRunner {
  readonly #log: Logger;
  readonly #store?: StatusStore;
  readonly #abort = new AbortController();
  #status: ScheduleStatus = { last: DEFAULT_TIME, next: DEFAULT_TIME, lastUpdated: DEFAULT_TIME };
  #timer?: TimerHandle;
  #running?: Promise<void>;
  #stopped = false;

  constructor(
    private readonly config: TimerConfig,
    private readonly services: HostServices,
  ) {
    this.#log = services.logger.child({ function: config.name, trigger: 'timer' });
    if (config.useMonitor) {
      const account = services.storage.get(undefined, `timer schedule monitor of "${config.name}"`);
      this.#store = new StatusStore(account.blob, services.hostId, config.name, config.timeZone, this.#log);
    }
  }

  async start(): Promise<void> {
    const { name, schedule, timeZone } = this.config;
    const now = this.services.clock.now();
    this.#log.debug(`Timer '${name}' uses the schedule ${schedule.description} in time zone ${timeZone}`, {
      useMonitor: this.config.useMonitor,
      runOnStartup: this.config.runOnStartup,
    });
    let pastDue = false;
    if (this.#store) {
      const stored = await this.#store.read();
      const reconciled = reconcileStatus(stored, now, schedule);
      if (reconciled.write) await this.#store.write(reconciled.write);
      this.#status = reconciled.status;
      pastDue = reconciled.pastDue;
      this.#log.debug(`Timer '${name}' status`, { ...(stored && statusJson(stored, timeZone)), pastDue });
    } else {
      this.#status = { last: DEFAULT_TIME, next: schedule.next(now), lastUpdated: DEFAULT_TIME };
    }
    this.#logNextOccurrences(now);
    if (pastDue) this.#soon({ kind: 'pastDue', missed: this.#status.next });
    else if (this.config.runOnStartup) this.#soon({ kind: 'startup' });
    else this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#abort.abort();
    await this.#running;
  }

  #logNextOccurrences(now: number): void {
    const times: string[] = [];
    for (let t = now, i = 0; i < 5; i++) {
      t = this.config.schedule.next(t);
      if (!Number.isFinite(t)) break;
      times.push(formatLocalTime(t, this.config.timeZone));
    }
    if (times.length === 0) {
      this.#log.warn(
        `Timer '${this.config.name}' schedule ${this.config.schedule.description} never occurs.`,
      );
    } else {
      this.#log.info(`Timer '${this.config.name}' next occurrences: ${times.join(', ')}`);
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#status.next;
    if (!Number.isFinite(next)) return;
    const delay = next - this.services.clock.now();
    if (delay <= 0) this.#soon({ kind: 'schedule' });
    else this.#timer = this.services.clock.setTimer(delay, () => this.#fire({ kind: 'schedule' }));
  }

  /** Runs as soon as the current call stack is done, not on the (possibly manual) clock. */
  #soon(reason: Reason): void {
    setImmediate(() => this.#fire(reason));
  }

  #fire(reason: Reason): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#running = this.#run(reason)
      .catch((err: unknown) => {
        this.#log.error(`Error during the scheduled invocation of '${this.config.name}'`, {
          err: (err as Error)?.stack ?? String(err),
        });
      })
      .finally(() => {
        this.#running = undefined;
        this.#arm();
      });
  }

  async #run(reason: Reason): Promise<void> {
    const { clock, invoker } = this.services;
    const { fn, name, timeZone } = this.config;
    const invokedAt = clock.now();
    const scheduled = this.#status.next;
    const late = reason.kind === 'schedule' && invokedAt - scheduled > PAST_DUE_TOLERANCE_MS;
    const isPastDue = reason.kind === 'pastDue' || late;
    if (reason.kind === 'pastDue') {
      this.#log.info(`Timer '${name}' is past due: it missed ${formatLocalTime(reason.missed, timeZone)}`);
    } else if (late) {
      this.#log.info(`Timer '${name}' is past due: it was due at ${formatLocalTime(scheduled, timeZone)}`);
    } else if (reason.kind === 'startup') {
      this.#log.info(`Timer '${name}' runs on startup`);
    }
    const timerInfo = {
      Schedule: { AdjustForDST: this.config.schedule.adjustForDst },
      ScheduleStatus: this.#store ? statusJson(this.#status, timeZone) : null,
      IsPastDue: isPastDue,
    };
    await invokeWithRetry(
      invoker,
      fn,
      {
        triggerData: { json: JSON.stringify(timerInfo) },
        logFields: {
          isPastDue,
          ...(reason.kind === 'startup' && { reason: 'RunOnStartup' }),
          ...(reason.kind === 'pastDue' && {
            reason: 'IsPastDue',
            originalSchedule: formatLocalTime(reason.missed, timeZone),
          }),
        },
      },
      this.config.retry,
      clock,
      this.#abort.signal,
    );
    // A timer that fired a little early counts from its occurrence, or Next would repeat it.
    const basis = reason.kind === 'schedule' && scheduled > invokedAt ? scheduled : invokedAt;
    this.#status = { last: basis, next: this.config.schedule.next(basis), lastUpdated: basis };
    if (this.#store) {
      await this.#store.write(this.#status);
      this.#log.debug(`Timer '${name}' updated its status`, { ...statusJson(this.#status, timeZone) });
    }
  }
}

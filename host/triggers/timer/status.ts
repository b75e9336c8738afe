/**
 * The schedule monitor (WJX ScheduleMonitor.CheckPastDueAsync, StorageScheduleMonitor): one status
 * blob per timer, `azure-webjobs-hosts/timers/{hostId}/{functionName}/status`, holding
 * `{"Last","Next","LastUpdated"}`. At startup it tells whether an occurrence was missed.
 */
import type { BlobServiceClient } from '@azure/storage-blob';

import { TidemarkError } from '../../../shared/errors';
import type { Logger } from '../../../shared/logger';
import type { TimerSchedule } from './schedule';
import { DEFAULT_TIME, formatLocalTime, isDefaultTime, parseStatusTime } from './timeZone';

export interface ScheduleStatus {
  last: number;
  next: number;
  lastUpdated: number;
}

export interface StatusJson {
  Last: string;
  Next: string;
  LastUpdated: string;
}

export function statusJson(status: ScheduleStatus, timeZone: string): StatusJson {
  return {
    Last: formatLocalTime(status.last, timeZone),
    Next: formatLocalTime(status.next, timeZone),
    LastUpdated: formatLocalTime(status.lastUpdated, timeZone),
  };
}

export interface Reconciled {
  /** The status the timer starts with (what its first invocation sees). */
  status: ScheduleStatus;
  /** What to store, when the stored status is missing or stale. */
  write?: ScheduleStatus;
  /** An occurrence was missed while the host was down. */
  pastDue: boolean;
}

/** CheckPastDueAsync: recompute Next from Last (or LastUpdated) to notice a changed schedule. */
export function reconcileStatus(
  stored: ScheduleStatus | null,
  now: number,
  schedule: TimerSchedule,
): Reconciled {
  if (!stored) {
    const next = schedule.next(now);
    return {
      status: { last: DEFAULT_TIME, next, lastUpdated: DEFAULT_TIME },
      write: { last: DEFAULT_TIME, next, lastUpdated: now },
      pastDue: false,
    };
  }
  let basis = now;
  if (!isDefaultTime(stored.last)) basis = stored.last;
  else if (!isDefaultTime(stored.lastUpdated)) basis = stored.lastUpdated;
  let expected = schedule.next(basis);
  if (stored.next === expected) return { status: stored, pastDue: now > stored.next };
  // The schedule changed: a Next in the past would count as missed, so start afresh from now.
  if (now > expected) {
    basis = now;
    expected = schedule.next(now);
  }
  const status = { last: DEFAULT_TIME, next: expected, lastUpdated: basis };
  return { status, write: status, pastDue: now > expected };
}

const CONTAINER = 'azure-webjobs-hosts';

export class StatusStore {
  readonly blobName: string;

  constructor(
    private readonly blob: BlobServiceClient,
    hostId: string,
    functionName: string,
    private readonly timeZone: string,
    private readonly logger: Logger,
  ) {
    this.blobName = `timers/${hostId}/${functionName}/status`;
  }

  async read(): Promise<ScheduleStatus | null> {
    let text: string;
    try {
      text = (await this.#client().downloadToBuffer()).toString('utf8');
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw new TidemarkError('StorageUnavailable', `Could not read the timer status blob ${this.#path()}.`, {
        cause: err,
        hint: 'Check that AzureWebJobsStorage points at a running storage account (Azurite locally).',
      });
    }
    let raw: Partial<Record<keyof StatusJson, unknown>>;
    try {
      raw = JSON.parse(text) as typeof raw;
    } catch {
      this.logger.warn(`Ignoring the unreadable timer status blob ${this.#path()}.`);
      return null;
    }
    const time = (v: unknown): number => {
      const ms = parseStatusTime(v);
      return Number.isNaN(ms) ? DEFAULT_TIME : ms;
    };
    return { last: time(raw.Last), next: time(raw.Next), lastUpdated: time(raw.LastUpdated) };
  }

  /** Best effort, as in the host: a failed write is logged and the schedule goes on. */
  async write(status: ScheduleStatus): Promise<void> {
    const body = JSON.stringify(statusJson(status, this.timeZone));
    const upload = () =>
      this.#client().upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    try {
      try {
        await upload();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        await this.blob.getContainerClient(CONTAINER).createIfNotExists();
        await upload();
      }
    } catch (err) {
      this.logger.error(`Could not update the timer status blob ${this.#path()}.`, {
        err: (err as Error)?.message,
      });
    }
  }

  #client() {
    return this.blob.getContainerClient(CONTAINER).getBlockBlobClient(this.blobName);
  }

  #path(): string {
    return `${CONTAINER}/${this.blobName}`;
  }
}

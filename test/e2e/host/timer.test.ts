/**
 * The timer trigger end to end: the fixture app (test/fixtures/timer-app) registers through the real
 * `@azure/functions`, the status blobs live in Azurite, and time moves only through ManualClock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, it } from 'vitest';

import type { TriggerPlugin } from '../../../host/plugin';
import { type HostHandle, startHost } from '../../../host/startHost';
import { createTimerPlugin } from '../../../host/triggers/timer';
import { ManualClock } from '../../../shared/clock';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

const azurite = useAzurite();
const APP = path.join(__dirname, '../../fixtures/timer-app');
const T0 = Date.UTC(2026, 0, 1);
const at = (time: string): number => Date.parse(`2026-01-01T${time}Z`);
const NEVER = '0001-01-01T00:00:00+00:00';

interface Timer {
  isPastDue: boolean;
  schedule: { adjustForDST: boolean };
  scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
}

interface Run {
  name: string;
  invocationId: string;
  at: number;
  timer: Timer;
  retryContext?: { retryCount: number; maxRetryCount: number; exception?: { message?: string } };
}

interface Harness {
  enabled: string[];
  clock: ManualClock;
  runs: Run[];
  active: number;
  maxActive: number;
  failures: number;
  gate?: Promise<void>;
}

interface TimerHost {
  host: HostHandle;
  harness: Harness;
  clock: ManualClock;
  logger: RecordingLogger;
  hostId: string;
}

const globals = globalThis as { __timerTest?: Harness };
const hosts: HostHandle[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.dispose()));
  delete globals.__timerTest;
});

function launch(
  enabled: string[],
  options: {
    clock?: ManualClock;
    settings?: Record<string, string>;
    hostId?: string;
    /** 'default' runs the host's full plugin set; otherwise only the timer plugin. */
    plugins?: TriggerPlugin[] | 'default';
  } = {},
): TimerHost {
  const clock = options.clock ?? new ManualClock(T0);
  const harness: Harness = { enabled, clock, runs: [], active: 0, maxActive: 0, failures: 0 };
  globals.__timerTest = harness;
  const logger = new RecordingLogger();
  const hostId = options.hostId ?? uniqueName('timer');
  const host = startHost({
    appDir: APP,
    port: 0,
    clock,
    logger,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'timer-host-')),
    settings: {
      AzureWebJobsStorage: azurite().connectionString,
      AzureFunctionsWebHost__hostid: hostId,
      ...options.settings,
    },
    useProcessEnv: false,
    plugins: options.plugins === 'default' ? undefined : (options.plugins ?? [createTimerPlugin()]),
  });
  hosts.push(host);
  return { host, harness, clock, logger, hostId };
}

async function started(enabled: string[], options?: Parameters<typeof launch>[1]): Promise<TimerHost> {
  const t = launch(enabled, options);
  await t.host.ready;
  return t;
}

/** Waits until `runs` runs happened and every timer is armed again (no run or status write pending). */
async function settled(t: TimerHost, runs: number, armed = 1): Promise<void> {
  await waitFor(
    () => t.harness.runs.length >= runs && t.harness.active === 0 && t.clock.pendingTimers === armed,
    {
      what: `${runs} runs and ${armed} armed timers`,
    },
  );
  expect(t.harness.runs).toHaveLength(runs);
}

async function step(t: TimerHost, ms: number, runs: number): Promise<void> {
  await t.clock.advance(ms);
  await settled(t, runs);
}

async function statusBlob(hostId: string, name: string): Promise<Record<string, string> | undefined> {
  const blob = BlobServiceClient.fromConnectionString(azurite().connectionString)
    .getContainerClient('azure-webjobs-hosts')
    .getBlockBlobClient(`timers/${hostId}/${name}/status`);
  if (!(await blob.exists())) return undefined;
  return JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as Record<string, string>;
}

async function readyError(t: TimerHost): Promise<Error & { hint?: string }> {
  const err = await t.host.ready.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error('host.ready resolved');
  return err;
}

describe('timer trigger', () => {
  it('fires a */5 seconds cron exactly on its occurrences', async () => {
    const t = await started(['every5s']);
    expect(t.logger.records.map((r) => r.msg)).toContain(
      "Timer 'every5s' next occurrences: 2026-01-01T00:00:05+00:00, 2026-01-01T00:00:10+00:00, " +
        '2026-01-01T00:00:15+00:00, 2026-01-01T00:00:20+00:00, 2026-01-01T00:00:25+00:00',
    );
    await step(t, 4_999, 0);
    await step(t, 1, 1);
    await step(t, 4_999, 1);
    await step(t, 1, 2);
    await step(t, 5_000, 3);
    expect(t.harness.runs.map((r) => r.at - T0)).toEqual([5_000, 10_000, 15_000]);
    expect(new Set(t.harness.runs.map((r) => r.invocationId)).size).toBe(3);
    // More than once a minute: the monitor is off, so there is no status and no blob.
    expect(t.harness.runs[0]?.timer).toEqual({
      schedule: { adjustForDST: true },
      scheduleStatus: null,
      isPastDue: false,
    });
    expect(await statusBlob(t.hostId, 'every5s')).toBeUndefined();
  });

  it('runs a TimeSpan schedule at a fixed interval from start-up', async () => {
    const t = await started(['everyTen'], { clock: new ManualClock(T0 + 1_234) });
    await step(t, 9_999, 0);
    await step(t, 1, 1);
    await step(t, 10_000, 2);
    expect(t.harness.runs.map((r) => r.at - T0)).toEqual([11_234, 21_234]);
    expect(t.harness.runs[0]?.timer).toEqual({
      schedule: { adjustForDST: false },
      scheduleStatus: null,
      isPastDue: false,
    });
  });

  it('resolves a %Setting% schedule', async () => {
    const t = await started(['fromSetting'], { settings: { TimerSchedule: '*/10 * * * * *' } });
    await step(t, 10_000, 1);
    await step(t, 10_000, 2);
    expect(t.harness.runs.map((r) => r.at - T0)).toEqual([10_000, 20_000]);
  });

  it('runs once on startup, then on schedule, recording its status (default plugins)', async () => {
    const d = await started(['startup'], { plugins: 'default' });
    await settled(d, 1);
    expect(d.harness.runs[0]).toMatchObject({
      at: T0,
      timer: {
        isPastDue: false,
        scheduleStatus: { last: NEVER, next: '2026-01-01T03:00:00+00:00', lastUpdated: NEVER },
      },
    });
    expect(await statusBlob(d.hostId, 'startup')).toEqual({
      Last: '2026-01-01T00:00:00+00:00',
      Next: '2026-01-01T03:00:00+00:00',
      LastUpdated: '2026-01-01T00:00:00+00:00',
    });
    await d.clock.advanceTo(at('03:00:00'));
    await settled(d, 2);
    expect(d.harness.runs[1]?.timer.scheduleStatus).toEqual({
      last: '2026-01-01T00:00:00+00:00',
      next: '2026-01-01T03:00:00+00:00',
      lastUpdated: '2026-01-01T00:00:00+00:00',
    });
    expect(await statusBlob(d.hostId, 'startup')).toMatchObject({
      Last: '2026-01-01T03:00:00+00:00',
      Next: '2026-01-02T03:00:00+00:00',
    });
  });

  it('keeps the schedule status blob with Last, Next and LastUpdated', async () => {
    const t = await started(['fiveMinutes']);
    expect(await statusBlob(t.hostId, 'fiveMinutes')).toEqual({
      Last: NEVER,
      Next: '2026-01-01T00:05:00+00:00',
      LastUpdated: '2026-01-01T00:00:00+00:00',
    });
    await step(t, 5 * 60_000, 1);
    expect(t.harness.runs[0]?.timer).toEqual({
      schedule: { adjustForDST: true },
      scheduleStatus: { last: NEVER, next: '2026-01-01T00:05:00+00:00', lastUpdated: NEVER },
      isPastDue: false,
    });
    expect(await statusBlob(t.hostId, 'fiveMinutes')).toEqual({
      Last: '2026-01-01T00:05:00+00:00',
      Next: '2026-01-01T00:10:00+00:00',
      LastUpdated: '2026-01-01T00:05:00+00:00',
    });
    await step(t, 5 * 60_000, 2);
    expect(t.harness.runs[1]?.timer.scheduleStatus).toMatchObject({ last: '2026-01-01T00:05:00+00:00' });
  });

  it('honours useMonitor: false', async () => {
    const t = await started(['noMonitor']);
    await t.clock.advanceTo(at('01:00:00'));
    await settled(t, 1);
    expect(t.harness.runs[0]?.timer.scheduleStatus).toBeNull();
    expect(await statusBlob(t.hostId, 'noMonitor')).toBeUndefined();
  });

  it('after downtime, runs once right away with isPastDue, then keeps the schedule', async () => {
    const first = await started(['fiveMinutes']);
    await step(first, 5 * 60_000, 1);
    await first.host.dispose();

    const t = await started(['fiveMinutes'], {
      clock: new ManualClock(at('00:27:00')),
      hostId: first.hostId,
    });
    await settled(t, 1);
    expect(t.harness.runs[0]).toMatchObject({
      at: at('00:27:00'),
      timer: {
        isPastDue: true,
        scheduleStatus: { last: '2026-01-01T00:05:00+00:00', next: '2026-01-01T00:10:00+00:00' },
      },
    });
    expect(t.logger.records.some((r) => /past due: it missed 2026-01-01T00:10:00/.test(r.msg))).toBe(true);
    expect(await statusBlob(t.hostId, 'fiveMinutes')).toMatchObject({
      Last: '2026-01-01T00:27:00+00:00',
      Next: '2026-01-01T00:30:00+00:00',
    });
    await t.clock.advanceTo(at('00:29:59'));
    await settled(t, 1);
    await step(t, 1_000, 2);
    expect(t.harness.runs[1]).toMatchObject({ at: at('00:30:00'), timer: { isPastDue: false } });
  });

  it('after a restart before Next, waits for Next', async () => {
    const first = await started(['fiveMinutes']);
    await first.host.dispose();
    const t = await started(['fiveMinutes'], {
      clock: new ManualClock(at('00:04:00')),
      hostId: first.hostId,
    });
    await step(t, 59_999, 0);
    await step(t, 1, 1);
    expect(t.harness.runs[0]).toMatchObject({ at: at('00:05:00'), timer: { isPastDue: false } });
  });

  it('never overlaps: a run that overruns delays the next one, which is past due', async () => {
    const t = await started(['slow']);
    let release!: () => void;
    t.harness.gate = new Promise<void>((resolve) => (release = resolve));
    await t.clock.advance(5_000);
    await waitFor(() => t.harness.active === 1);
    await t.clock.advance(15_000); // three occurrences go by while it runs
    expect(t.harness.runs).toHaveLength(1);
    expect(t.clock.pendingTimers).toBe(0);
    t.harness.gate = undefined;
    release();
    await settled(t, 2);
    await step(t, 5_000, 3);
    expect(t.harness.runs.map((r) => [r.at - T0, r.timer.isPastDue])).toEqual([
      [5_000, false],
      [20_000, true],
      [25_000, false],
    ]);
    expect(t.harness.maxActive).toBe(1);
  });

  it('stop waits for a run in flight and starts no more', async () => {
    const t = await started(['slow']);
    let release!: () => void;
    t.harness.gate = new Promise<void>((resolve) => (release = resolve));
    await t.clock.advance(5_000);
    await waitFor(() => t.harness.active === 1);
    let disposed = false;
    const disposing = t.host.dispose().then(() => (disposed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(disposed).toBe(false);
    release();
    await disposing;
    expect(t.harness.active).toBe(0);
    expect(t.clock.pendingTimers).toBe(0);
    await t.clock.advance(60_000);
    expect(t.harness.runs).toHaveLength(1);
  });

  it('keeps the schedule when the function fails', async () => {
    const t = await started(['broken']);
    await step(t, 5_000, 1);
    await step(t, 5_000, 2);
    expect(t.logger.records.filter((r) => r.msg === "Executed 'broken' (Failed)")).toHaveLength(2);
  });

  it('retries a failing run with the function retry policy and its retryContext', async () => {
    const t = await started(['flaky']);
    t.harness.failures = 2;
    await t.clock.advanceTo(at('01:00:00'));
    await waitFor(() => t.harness.runs.length === 1 && t.clock.pendingTimers === 1);
    await t.clock.advance(3_000);
    await waitFor(() => t.harness.runs.length === 2 && t.clock.pendingTimers === 1);
    await t.clock.advance(3_000);
    await waitFor(() => t.harness.runs.length === 3);
    await waitFor(async () => (await statusBlob(t.hostId, 'flaky'))?.Next === '2026-01-01T02:00:00+00:00');
    const runs = t.harness.runs;
    expect(runs.map((r) => r.at)).toEqual([at('01:00:00'), at('01:00:03'), at('01:00:06')]);
    expect(runs[0]?.retryContext).toBeUndefined();
    expect(runs[1]?.retryContext).toMatchObject({
      retryCount: 1,
      maxRetryCount: 2,
      exception: { message: 'flaky failed' },
    });
    expect(runs[2]?.retryContext).toMatchObject({ retryCount: 2, maxRetryCount: 2 });
    expect(runs.every((r) => r.timer.scheduleStatus?.next === '2026-01-01T01:00:00+00:00')).toBe(true);
    expect(await statusBlob(t.hostId, 'flaky')).toMatchObject({ Last: '2026-01-01T01:00:00+00:00' });
    await settled(t, 3);
  });

  it.each([
    ['fiveField', '"0 */5 * * *"', /5 fields, but Azure Functions needs 6/, '"0 0 */5 * * *"'],
    [
      'garbage',
      '"every five minutes"',
      /neither an NCRONTAB expression nor a TimeSpan/,
      'NCRONTAB has 6 fields',
    ],
    [
      'missingSetting',
      '"%NoSuchSetting%"',
      /function "missingSetting" refers to the app setting/,
      'NoSuchSetting',
    ],
  ])('refuses the bad schedule of %s at start', async (name, shown, message, hint) => {
    const err = await readyError(launch([name]));
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    expect(err.message).toContain(name);
    expect(err.message).toContain(shown.slice(1, -1));
    expect(err.message).toMatch(message);
    expect(err.hint).toContain(hint);
  });

  it('refuses a Windows time zone name and a monitor without AzureWebJobsStorage', async () => {
    const tz = await readyError(
      launch(['every5s'], { settings: { WEBSITE_TIME_ZONE: 'Eastern Standard Time' } }),
    );
    expect(isTidemarkError(tz, 'InvalidConfig')).toBe(true);
    expect(tz.message).toContain('WEBSITE_TIME_ZONE="Eastern Standard Time"');
    const storage = await readyError(launch(['fiveMinutes'], { settings: { AzureWebJobsStorage: '' } }));
    expect(isTidemarkError(storage, 'InvalidConfig')).toBe(true);
    expect(storage.message).toContain('AzureWebJobsStorage');
    expect(storage.message).toContain('fiveMinutes');
  });

  it('runs in the WEBSITE_TIME_ZONE time zone', async () => {
    const t = await started(['morning'], {
      settings: { WEBSITE_TIME_ZONE: 'America/New_York', TZ: 'Asia/Tokyo' },
    });
    expect(t.logger.records.map((r) => r.msg).join('\n')).toContain(
      "Timer 'morning' next occurrences: 2026-01-01T09:00:00-05:00, 2026-01-02T09:00:00-05:00",
    );
    await t.clock.advanceTo(at('13:59:59'));
    await settled(t, 0);
    await step(t, 1_000, 1);
    expect(t.harness.runs[0]).toMatchObject({
      at: at('14:00:00'),
      timer: { scheduleStatus: { next: '2026-01-01T09:00:00-05:00' } },
    });
    expect(await statusBlob(t.hostId, 'morning')).toMatchObject({
      Last: '2026-01-01T09:00:00-05:00',
      Next: '2026-01-02T09:00:00-05:00',
    });
  });

  it('falls back to TZ for the time zone', async () => {
    const t = await started(['morning'], { settings: { TZ: 'Asia/Tokyo' } });
    expect(await statusBlob(t.hostId, 'morning')).toMatchObject({ Next: '2026-01-02T09:00:00+09:00' }); // T0 is 09:00 in Tokyo: strictly after;
  });

  it('fires only when both day-of-month and day-of-week match (NCrontab)', async () => {
    const t = await started(['friday13']);
    expect(await statusBlob(t.hostId, 'friday13')).toMatchObject({ Next: '2026-02-13T00:00:00+00:00' });
    await t.clock.advanceTo(Date.UTC(2026, 1, 12, 23, 59, 59));
    await settled(t, 0);
    await step(t, 1_000, 1);
    expect(t.harness.runs[0]?.at).toBe(Date.UTC(2026, 1, 13));
    expect(await statusBlob(t.hostId, 'friday13')).toMatchObject({ Next: '2026-03-13T00:00:00+00:00' });
  });
});

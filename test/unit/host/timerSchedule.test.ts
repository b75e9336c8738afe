import { describe, expect, it } from 'vitest';

import { Settings } from '../../../host/settings';
import { parseNcrontabFields } from '../../../host/triggers/timer/ncrontab';
import { parseSchedule, ScheduleError, type TimerSchedule } from '../../../host/triggers/timer/schedule';
import { reconcileStatus } from '../../../host/triggers/timer/status';
import {
  DEFAULT_TIME,
  formatLocalTime,
  parseStatusTime,
  resolveTimeZone,
} from '../../../host/triggers/timer/timeZone';
import { isTidemarkError } from '../../../shared/errors';

const T0 = Date.UTC(2026, 0, 1); // a Thursday
const iso = (ms: number): string => new Date(ms).toISOString();

function occurrences(schedule: TimerSchedule, from: number, count: number): string[] {
  const out: string[] = [];
  for (let t = from; out.length < count;) {
    t = schedule.next(t);
    out.push(iso(t));
  }
  return out;
}

const fields = (expr: string): number[][] => parseNcrontabFields(expr.split(' '));
const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

function scheduleError(expression: string): ScheduleError {
  try {
    parseSchedule(expression, 'UTC');
  } catch (err) {
    if (err instanceof ScheduleError) return err;
    throw err;
  }
  throw new Error(`"${expression}" parsed`);
}

describe('NCRONTAB fields', () => {
  it('reads *, steps, ranges and lists as NCrontab does', () => {
    const [sec, min, hour, day, month, dow] = fields('*/5 10-12 1,3,5 */10 2-11/3 *');
    expect(sec).toEqual(range(0, 55, 5));
    expect(min).toEqual([10, 11, 12]);
    expect(hour).toEqual([1, 3, 5]);
    expect(day).toEqual([1, 11, 21, 31]); // steps start at the field's minimum
    expect(month).toEqual([2, 5, 8, 11]);
    expect(dow).toEqual(range(0, 6));
  });

  it('reads a/n as a to the maximum by n, and swaps a reversed range', () => {
    const [sec, min] = fields('5/15 50-10 * * * *');
    expect(sec).toEqual([5, 20, 35, 50]);
    expect(min).toEqual(range(10, 50));
  });

  it('accepts month and day names case-insensitively, as prefixes of the English names', () => {
    expect(fields('0 0 0 * JAN,jul,December *')[4]).toEqual([1, 7, 12]);
    expect(fields('0 0 0 * * MON-FRI')[5]).toEqual([1, 2, 3, 4, 5]);
    expect(fields('0 0 0 * * sunday,Th,sat')[5]).toEqual([0, 4, 6]);
    expect(fields('0 0 0 * * T')[5]).toEqual([2]); // the first name it prefixes: Tuesday
  });

  it.each([
    ['0 0 0 * * 7', /field 6 \(day-of-week\) "7": 7 is above the maximum 6/],
    ['60 * * * * *', /field 1 \(second\) "60": 60 is above the maximum 59/],
    ['0 0 0 0 * *', /field 4 \(day\) "0": 0 is below the minimum 1/],
    ['0 0 0 L * *', /field 4 \(day\) "L"/],
    ['0 0 0 ? * MON', /field 4 \(day\) "\?"/],
    ['0 0 0 * * MON#2', /field 6 \(day-of-week\) "MON#2"/],
    ['0 0 0 15W * *', /field 4 \(day\) "15W": "15W" is not a number/],
    ['0 0 0 * Foo *', /"Foo" is not a month/],
    ['0 0 0 1, * *', /a value cannot be empty/],
    ['*/x * * * * *', /"x" is not a step/],
  ])('refuses %s', (expression, message) => {
    expect(scheduleError(expression).message).toMatch(message);
  });
});

describe('parseSchedule', () => {
  it('fires */5 seconds strictly after the base time', () => {
    const s = parseSchedule('*/5 * * * * *', 'UTC');
    expect(s.kind).toBe('cron');
    expect(occurrences(s, T0, 3)).toEqual([iso(T0 + 5000), iso(T0 + 10_000), iso(T0 + 15_000)]);
    expect(iso(s.next(T0 + 4_999))).toBe(iso(T0 + 5000));
  });

  it('needs both day-of-month and day-of-week when both are restricted (NCrontab ANDs them)', () => {
    const friday13 = parseSchedule('0 0 0 13 * FRI', 'UTC');
    expect(occurrences(friday13, T0, 3)).toEqual([
      '2026-02-13T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-11-13T00:00:00.000Z',
    ]);
    const firstMonday = parseSchedule('0 30 8 1-7 * Mon', 'UTC');
    expect(occurrences(firstMonday, T0, 2)).toEqual(['2026-01-05T08:30:00.000Z', '2026-02-02T08:30:00.000Z']);
  });

  it('uses one day field alone when the other is *', () => {
    expect(occurrences(parseSchedule('0 0 9 * * MON-FRI', 'UTC'), T0, 3)).toEqual([
      '2026-01-01T09:00:00.000Z',
      '2026-01-02T09:00:00.000Z',
      '2026-01-05T09:00:00.000Z',
    ]);
    expect(occurrences(parseSchedule('0 0 0 1 JAN,JUL *', 'UTC'), T0, 2)).toEqual([
      '2026-07-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });

  it('skips months too short for the day', () => {
    expect(occurrences(parseSchedule('0 0 0 31 * *', 'UTC'), T0, 2)).toEqual([
      '2026-01-31T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
  });

  it('runs in the given time zone, across DST changes', () => {
    const s = parseSchedule('0 0 9 * * *', 'America/New_York');
    expect(occurrences(s, Date.UTC(2026, 2, 7), 2)).toEqual([
      '2026-03-07T14:00:00.000Z', // EST
      '2026-03-08T13:00:00.000Z', // EDT from 8 March
    ]);
  });

  it('follows the host across DST: point-in-time runs once, intervals run through the repeated hour', () => {
    const fallBack = Date.UTC(2026, 9, 24, 12); // Europe/Berlin falls back on 25 October at 03:00
    expect(occurrences(parseSchedule('0 30 2 * * *', 'Europe/Berlin'), fallBack, 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST only
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(occurrences(parseSchedule('0 0,30 2 * * *', 'Europe/Berlin'), fallBack, 3)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:00:00.000Z',
    ]);
    expect(
      occurrences(parseSchedule('0 */30 * * * *', 'Europe/Berlin'), Date.UTC(2026, 9, 24, 23, 45), 4),
    ).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z',
    ]);
    // In the spring-forward gap a point-in-time schedule runs at the end of the gap (03:00 CEST).
    expect(iso(parseSchedule('0 30 2 * * *', 'Europe/Berlin').next(Date.UTC(2026, 2, 28, 12)))).toBe(
      '2026-03-29T01:00:00.000Z',
    );
  });

  it('reads TimeSpans as constant intervals from the base time', () => {
    const s = parseSchedule('00:00:10', 'UTC');
    expect(s).toMatchObject({ kind: 'timespan', description: 'Constant: 00:00:10', adjustForDst: false });
    expect(s.next(T0 + 123)).toBe(T0 + 10_123);
    expect(parseSchedule('1.02:00:00', 'UTC').next(0)).toBe(93_600_000);
  });

  it('marks schedules firing more than once a minute as frequent (the monitor is then off)', () => {
    const frequent = (e: string) => parseSchedule(e, 'UTC').frequent;
    expect(frequent('*/5 * * * * *')).toBe(true);
    expect(frequent('0,30 * * * * *')).toBe(true);
    expect(frequent('0 * * * * *')).toBe(false);
    expect(frequent('0 */5 * * * *')).toBe(false);
    expect(frequent('*/10 * 9 * * *')).toBe(false); // the host only counts X * * * * * schedules
    expect(frequent('00:00:59')).toBe(true);
    expect(frequent('00:01:00')).toBe(false);
  });

  it('refuses 5-field cron with a fix', () => {
    const err = scheduleError('0 */5 * * *');
    expect(err.message).toMatch(/5 fields, but Azure Functions needs 6/);
    expect(err.hint).toContain('"0 0 */5 * * *"');
  });

  it.each(['every five minutes', '', '00:00:00', '-00:05:00', '25:00:00', '0 0 * * * * *'])(
    'refuses %j',
    (expression) => {
      expect(() => parseSchedule(expression, 'UTC')).toThrow(ScheduleError);
    },
  );

  it('reports a schedule that never occurs as +Infinity', () => {
    expect(parseSchedule('0 0 0 30 FEB *', 'UTC').next(T0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('time zone and time format', () => {
  const zone = (values: Record<string, string>) => resolveTimeZone(new Settings(values));

  it('follows WEBSITE_TIME_ZONE, then TZ, else UTC', () => {
    expect(zone({})).toBe('UTC');
    expect(zone({ TZ: 'asia/tokyo' })).toBe('Asia/Tokyo');
    expect(zone({ WEBSITE_TIME_ZONE: 'Europe/Berlin', TZ: 'Asia/Tokyo' })).toBe('Europe/Berlin');
    expect(zone({ WEBSITE_TIME_ZONE: '', TZ: ':Europe/London' })).toBe('Europe/London');
  });

  it('refuses Windows time zone names with a hint', () => {
    try {
      zone({ WEBSITE_TIME_ZONE: 'W. Europe Standard Time' });
      expect.unreachable();
    } catch (err) {
      expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
      expect((err as Error).message).toContain('WEBSITE_TIME_ZONE="W. Europe Standard Time"');
      expect((err as { hint: string }).hint).toContain('Europe/Berlin');
    }
  });

  it('formats local times with their offset, as the host serialises them', () => {
    expect(formatLocalTime(T0, 'UTC')).toBe('2026-01-01T00:00:00+00:00');
    expect(formatLocalTime(T0 + 250, 'UTC')).toBe('2026-01-01T00:00:00.25+00:00');
    expect(formatLocalTime(T0, 'America/New_York')).toBe('2025-12-31T19:00:00-05:00');
    expect(formatLocalTime(T0, 'Asia/Kolkata')).toBe('2026-01-01T05:30:00+05:30');
    expect(formatLocalTime(DEFAULT_TIME, 'Europe/Berlin')).toBe('0001-01-01T00:00:00+00:00');
  });

  it('reads times back, 7-digit fractions and offset-less times (UTC) included', () => {
    expect(parseStatusTime('2025-12-31T19:00:00-05:00')).toBe(T0);
    expect(parseStatusTime('2026-01-01T00:00:00.0219946+00:00')).toBe(T0 + 21);
    expect(parseStatusTime('2026-01-01T00:00:00')).toBe(T0);
    expect(parseStatusTime('0001-01-01T00:00:00+00:00')).toBe(DEFAULT_TIME);
    expect(parseStatusTime(42)).toBeNaN();
  });
});

describe('reconcileStatus (ScheduleMonitor.CheckPastDueAsync)', () => {
  const hourly = parseSchedule('0 0 * * * *', 'UTC');
  const H = 3_600_000;

  it('writes an initial status when there is none', () => {
    const r = reconcileStatus(null, T0 + 10, hourly);
    expect(r.pastDue).toBe(false);
    expect(r.status).toEqual({ last: DEFAULT_TIME, next: T0 + H, lastUpdated: DEFAULT_TIME });
    expect(r.write).toEqual({ last: DEFAULT_TIME, next: T0 + H, lastUpdated: T0 + 10 });
  });

  it('keeps a current status and is not past due before Next', () => {
    const stored = { last: T0, next: T0 + H, lastUpdated: T0 };
    expect(reconcileStatus(stored, T0 + 30 * 60_000, hourly)).toEqual({ status: stored, pastDue: false });
  });

  it('is past due once Next has passed', () => {
    const stored = { last: T0, next: T0 + H, lastUpdated: T0 };
    const r = reconcileStatus(stored, T0 + 5 * H, hourly);
    expect(r.pastDue).toBe(true);
    expect(r.write).toBeUndefined();
    expect(r.status).toBe(stored);
  });

  it('restarts from now when the schedule changed and its Next would be in the past', () => {
    const stored = { last: T0, next: T0 + 2 * H, lastUpdated: T0 }; // written by a two-hourly schedule
    const r = reconcileStatus(stored, T0 + 5.5 * H, hourly);
    expect(r.pastDue).toBe(false);
    expect(r.write).toEqual({ last: DEFAULT_TIME, next: T0 + 6 * H, lastUpdated: T0 + 5.5 * H });
  });

  it('uses LastUpdated when the timer never ran', () => {
    const stored = { last: DEFAULT_TIME, next: T0 + H, lastUpdated: T0 + 10 };
    expect(reconcileStatus(stored, T0 + 2 * H, hourly).pastDue).toBe(true);
  });
});

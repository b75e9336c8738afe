/**
 * The time zone timer schedules run in, and times written the way the real host writes them: the
 * host serialises local `DateTime`s with Newtonsoft (`2026-01-01T09:00:00-05:00`, fraction trimmed).
 */
import { TidemarkError } from '../../../shared/errors';
import type { Settings } from '../../settings';

/** .NET DateTime.MinValue: the host's "never" for Last and LastUpdated. */
export const DEFAULT_TIME = -62_135_596_800_000;
const DEFAULT_TEXT = '0001-01-01T00:00:00+00:00';
/** .NET DateTime.MaxValue, what NCrontab returns for a schedule that never occurs. */
const MAX_TEXT = '9999-12-31T23:59:59.9999999+00:00';
const YEAR_MS = 365 * 86_400_000;

/** Anything in year 1 counts as unset, as in the host's ScheduleMonitor.DefaultDateTimeThreshold. */
export function isDefaultTime(ms: number): boolean {
  return ms < DEFAULT_TIME + YEAR_MS;
}

/** WEBSITE_TIME_ZONE, else TZ, else UTC; IANA names only. */
export function resolveTimeZone(settings: Settings): string {
  for (const name of ['WEBSITE_TIME_ZONE', 'TZ']) {
    const raw = settings.get(name)?.trim().replace(/^:/, '');
    if (!raw) continue;
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
    } catch {
      throw new TidemarkError(
        'InvalidConfig',
        `The app setting ${name}="${raw}" is not a time zone this host knows; timer schedules need an IANA name.`,
        {
          hint:
            'Use an IANA time zone name, e.g. "Europe/Berlin" for "W. Europe Standard Time" or ' +
            '"America/New_York" for "Eastern Standard Time" (Windows names work only on Windows plans).',
        },
      );
    }
  }
  return 'UTC';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** `2026-01-01T09:00:00.25-05:00`: local time in `timeZone` with its UTC offset. */
export function formatLocalTime(ms: number, timeZone: string): string {
  if (ms === Number.POSITIVE_INFINITY) return MAX_TEXT;
  if (isDefaultTime(ms)) return DEFAULT_TEXT;
  const wholeSecond = Math.floor(ms / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(wholeSecond)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  const offsetMin = Math.round((Date.UTC(year, month - 1, day, hour, minute, second) - wholeSecond) / 60_000);
  const fraction = ms - wholeSecond ? `.${pad(ms - wholeSecond, 3).replace(/0+$/, '')}` : '';
  const sign = offsetMin < 0 ? '-' : '+';
  return (
    `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction}` +
    `${sign}${pad(Math.trunc(offsetMin / 60))}:${pad(offsetMin % 60)}`
  );
}

/** Reads a time from a status blob; a time without an offset is taken as UTC. NaN when unreadable. */
export function parseStatusTime(text: unknown): number {
  if (typeof text !== 'string') return Number.NaN;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(text.trim()) ? text.trim() : `${text.trim()}Z`;
  return Date.parse(zoned);
}

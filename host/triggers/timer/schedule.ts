/**
 * Timer schedules as the host's TimerSchedule.Create reads them: a six-field NCRONTAB expression
 * (evaluated by croner in the app's time zone, day-of-month AND day-of-week as NCrontab does), else
 * a TimeSpan constant interval. Five-field cron is refused: Core Tools runs it, but Azure's scale
 * controller parses with seconds only and stops waking the app (azure-functions-host#7123).
 */
import { Cron } from 'croner';

import { parseTimeSpan } from '../../timeSpan';
import { CronFieldError, isFullField, parseNcrontabFields } from './ncrontab';

export interface TimerSchedule {
  readonly kind: 'cron' | 'timespan';
  /** As the host logs it: `Cron: '0 * /5 * * * *'` or `Constant: 00:00:10`. */
  readonly description: string;
  /** More than one occurrence a minute; the schedule monitor is always off for these. */
  readonly frequent: boolean;
  /** TimerInfo.Schedule.AdjustForDST: true for cron, false for a constant interval. */
  readonly adjustForDst: boolean;
  /** The first occurrence strictly after `afterMs`; +Infinity when there is none. */
  next(afterMs: number): number;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const CRON_HINT =
  'NCRONTAB has 6 fields: {second} {minute} {hour} {day} {month} {day-of-week}, each *, a value, a range ' +
  'a-b, a list a,b or a step */n; e.g. "0 */5 * * * *" is every five minutes. A TimeSpan such as ' +
  '"00:05:00" runs at a fixed interval instead.';

export function parseSchedule(expression: string, timeZone: string): TimerSchedule {
  const tokens = expression.split(' ').filter((t) => t !== '');
  if (tokens.length === 6) return cronSchedule(expression.trim(), tokens, timeZone);
  if (tokens.length === 5) {
    throw new ScheduleError(
      'it has 5 fields, but Azure Functions needs 6: {second} {minute} {hour} {day} {month} {day-of-week}',
      `Add a seconds field in front: "0 ${tokens.join(' ')}". (Core Tools accepts 5 fields, but in Azure ` +
        'the scale controller does not, and the timer stops firing.)',
    );
  }
  let intervalMs: number;
  try {
    intervalMs = parseTimeSpan(expression, 'timer schedule');
  } catch {
    throw new ScheduleError('it is neither an NCRONTAB expression nor a TimeSpan', CRON_HINT);
  }
  if (intervalMs <= 0) {
    throw new ScheduleError('a TimeSpan schedule must be longer than zero', 'Use e.g. "00:00:30".');
  }
  return {
    kind: 'timespan',
    description: `Constant: ${formatTimeSpan(intervalMs)}`,
    frequent: intervalMs < 60_000,
    adjustForDst: false,
    next: (afterMs) => afterMs + intervalMs,
  };
}

function cronSchedule(expression: string, tokens: string[], timeZone: string): TimerSchedule {
  let fields: number[][];
  try {
    fields = parseNcrontabFields(tokens);
  } catch (err) {
    if (err instanceof CronFieldError) throw new ScheduleError(err.message, CRON_HINT);
    throw err;
  }
  const [seconds = [], minutes = [], hours = []] = fields;
  const pattern = fields.map((values, i) => (isFullField(values, i) ? '*' : values.join(','))).join(' ');
  const cron = new Cron(pattern, {
    mode: '6-part',
    timezone: timeZone,
    domAndDow: true,
    // The host's CronSchedule.IsInterval: a time field with * or a range. Those run through a repeated
    // DST hour twice; point-in-time schedules (single values or lists) run once.
    fixedTimeRule: [seconds, minutes, hours].some(isIntervalField) ? 'single-value' : 'no-wildcard',
  });
  return {
    kind: 'cron',
    description: `Cron: '${expression}'`,
    frequent: fields.slice(1).every((values, i) => isFullField(values, i + 1)) && seconds.length > 1,
    adjustForDst: true,
    next: (afterMs) => cron.nextRun(new Date(afterMs))?.getTime() ?? Number.POSITIVE_INFINITY,
  };
}

/** NCrontab prints a field as * when full and runs of consecutive values as a-b. */
function isIntervalField(values: readonly number[]): boolean {
  return values.some((v, i) => i > 0 && values[i - 1] === v - 1);
}

/** .NET TimeSpan "c" format: [d.]hh:mm:ss[.fff]. */
export function formatTimeSpan(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const two = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(ms / 3_600_000) % 24;
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const frac = ms % 1000 ? `.${String(ms % 1000).padStart(3, '0')}` : '';
  return `${days ? `${days}.` : ''}${two(h)}:${two(m)}:${two(s)}${frac}`;
}

import { TidemarkError } from '../shared/errors';

/**
 * Parses a .NET TimeSpan string as used in host.json and timer schedules:
 * `[-][d.]hh:mm[:ss[.fffffff]]`, or a plain day count `d`.
 */
export function parseTimeSpan(text: string, what: string): number {
  const m = /^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$/.exec(text);
  if (m) {
    const [, neg, days, hours, minutes, seconds, fraction] = m;
    const h = Number(hours);
    const min = Number(minutes);
    const s = Number(seconds ?? 0);
    if (h > 23 || min > 59 || s > 59) throw badTimeSpan(text, what);
    const ms =
      ((Number(days ?? 0) * 24 + h) * 60 + min) * 60_000 +
      s * 1000 +
      Math.round(Number(`0.${fraction ?? 0}`) * 1000);
    return neg ? -ms : ms;
  }
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 86_400_000;
  throw badTimeSpan(text, what);
}

export function isTimeSpan(text: string): boolean {
  try {
    parseTimeSpan(text, '');
    return true;
  } catch {
    return false;
  }
}

function badTimeSpan(text: string, what: string): TidemarkError {
  return new TidemarkError('InvalidConfig', `${what}: "${text}" is not a TimeSpan.`, {
    hint: 'Use [d.]hh:mm:ss, for example "00:05:00" for five minutes.',
  });
}

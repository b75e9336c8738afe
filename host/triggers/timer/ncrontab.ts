/**
 * NCRONTAB field syntax as the Functions host reads it (atifaziz/NCrontab `CrontabFieldImpl` and
 * `CrontabField.Accumulate`, six fields with seconds): `*`, `n`, `a-b` (swapped when a > b), lists,
 * `* /n`, `a-b/n` and `a/n` (= a to max, step n); names are case-insensitive prefixes of the English
 * month and day names (`Jan`, `JANUARY`, `mon`, `Th`). Day-of-week is 0-6 (Sunday 0); 7, `L`, `W`,
 * `#` and `?` are not NCRONTAB. Each field parses into the set of values it allows.
 */

export class CronFieldError extends Error {}

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export const CRON_FIELDS: readonly FieldSpec[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTHS },
  { label: 'day-of-week', min: 0, max: 6, names: DAYS },
];

/** The values each of the six fields allows, ascending. Throws CronFieldError. */
export function parseNcrontabFields(tokens: readonly string[]): number[][] {
  return CRON_FIELDS.map((spec, i) => {
    const text = tokens[i] ?? '';
    try {
      return parseField(spec, text);
    } catch (err) {
      if (!(err instanceof CronFieldError)) throw err;
      throw new CronFieldError(`field ${i + 1} (${spec.label}) "${text}": ${err.message}`);
    }
  });
}

export function isFullField(values: readonly number[], index: number): boolean {
  const spec = CRON_FIELDS[index] as FieldSpec;
  return values.length === spec.max - spec.min + 1;
}

function parseField(spec: FieldSpec, text: string): number[] {
  const values = new Set<number>();
  for (const part of text.split(',')) parsePart(spec, part, values);
  return [...values].sort((a, b) => a - b);
}

function parsePart(spec: FieldSpec, text: string, into: Set<number>): void {
  if (text === '') throw new CronFieldError('a value cannot be empty');
  let body = text;
  let step: number | undefined;
  const slash = text.indexOf('/');
  if (slash > 0) {
    const stepText = text.slice(slash + 1);
    if (!/^\d+$/.test(stepText)) throw new CronFieldError(`"${stepText}" is not a step (a whole number)`);
    step = Number(stepText);
    body = text.slice(0, slash);
  }
  if (body === '*') return accumulate(spec, -1, -1, step ?? 1, into);
  const dash = body.indexOf('-');
  if (dash > 0) {
    const first = parseValue(spec, body.slice(0, dash));
    const last = parseValue(spec, body.slice(dash + 1));
    return accumulate(spec, first, last, step ?? 1, into);
  }
  const value = parseValue(spec, body);
  if (step === undefined) accumulate(spec, value, value, 1, into);
  else accumulate(spec, value, spec.max, step, into);
}

function parseValue(spec: FieldSpec, text: string): number {
  if (/^\d/.test(text)) {
    if (!/^\d+$/.test(text)) throw new CronFieldError(`"${text}" is not a number`);
    return Number(text);
  }
  const lower = text.toLowerCase();
  const index = text === '' ? -1 : (spec.names?.findIndex((n) => n.toLowerCase().startsWith(lower)) ?? -1);
  if (index >= 0) return index + spec.min;
  throw new CronFieldError(
    spec.names
      ? `"${text}" is not a ${spec.label} (use ${spec.min}-${spec.max} or a name such as ${spec.names[0]?.slice(0, 3).toUpperCase()})`
      : `"${text}" is not a number between ${spec.min} and ${spec.max}`,
  );
}

/** NCrontab's CrontabField.Accumulate: start = end = -1 means the whole range. */
function accumulate(spec: FieldSpec, start: number, end: number, interval: number, into: Set<number>): void {
  let from = start;
  let to = end;
  if (from === to) {
    if (from < 0) {
      from = spec.min;
      to = spec.max;
    } else checkRange(spec, from);
  } else {
    if (from > to) [from, to] = [to, from];
    if (from < 0) from = spec.min;
    else checkRange(spec, from);
    if (to < 0) to = spec.max;
    else checkRange(spec, to);
  }
  const stepBy = interval < 1 ? 1 : interval;
  for (let v = from; v <= to; v += stepBy) into.add(v);
}

function checkRange(spec: FieldSpec, value: number): void {
  if (value < spec.min || value > spec.max) {
    const side = value < spec.min ? `below the minimum ${spec.min}` : `above the maximum ${spec.max}`;
    throw new CronFieldError(`${value} is ${side} (allowed ${spec.min}-${spec.max})`);
  }
}

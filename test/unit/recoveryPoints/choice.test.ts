/**
 * The recovery point a failover asks for (shared/recoveryPoints/choice.ts): what the request schema
 * accepts and refuses, and describeChoice/parseChoiceText as each other's inverse.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  describeChoice,
  NAMED_CHOICES,
  parseChoiceText,
  type RecoveryPointChoice,
  recoveryPointChoiceSchema,
} from '../../../shared/recoveryPoints/choice';
import { recoveryPointId } from '../../../shared/recoveryPoints/types';

function messages(value: unknown): string[] {
  const result = recoveryPointChoiceSchema.safeParse(value);
  if (result.success) return [];
  const out: string[] = [];
  const walk = (issues: readonly { message: string; errors?: unknown }[]): void => {
    for (const issue of issues) {
      out.push(issue.message);
      const nested = (issue as { errors?: { message: string }[][] }).errors;
      for (const branch of nested ?? []) walk(branch);
    }
  };
  walk(result.error.issues);
  return out;
}

describe('recoveryPointChoiceSchema', () => {
  it.each<[string, unknown]>([
    ['latest', 'latest'],
    ['latestProcessed', 'latestProcessed'],
    ['latestAppConsistent', 'latestAppConsistent'],
    ['a point id', { id: 'rp-1-42' }],
    ['generation and sequence 0', { id: 'rp-0-0' }],
    ['a UTC time', { time: '2026-11-26T06:30:00Z' }],
    ['a time with fractions', { time: '2026-11-26T06:30:00.123Z' }],
    ['a time with an offset', { time: '2026-11-26T08:30:00+02:00' }],
  ])('accepts %s', (_what, value) => {
    expect(recoveryPointChoiceSchema.safeParse(value)).toEqual({ success: true, data: value });
  });

  it.each<[string, unknown]>([
    ['another word', 'newest'],
    ['a word in another case', 'Latest'],
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
    ['an empty object', {}],
    ['an id with a leading zero', { id: 'rp-01-2' }],
    ['an id without a sequence', { id: 'rp-1' }],
    ['an id beyond 2^53', { id: 'rp-1-9007199254740993' }],
    ['an id as a number', { id: 7 }],
    ['a time without a zone', { time: '2026-11-26T06:30:00' }],
    ['a date only', { time: '2026-11-26' }],
    ['not a time', { time: 'yesterday' }],
    ['an id and a time', { id: 'rp-1-2', time: '2026-11-26T06:30:00Z' }],
    ['an extra field', { id: 'rp-1-2', note: 'x' }],
  ])('refuses %s', (_what, value) => {
    expect(recoveryPointChoiceSchema.safeParse(value).success).toBe(false);
  });

  it('says what it wants', () => {
    expect(messages('newest').join(' | ')).toMatch(
      /must be "latest", "latestProcessed", "latestAppConsistent", \{"id": "rp-<generation>-<sequence>"\} or \{"time": "<ISO-8601>"\}/,
    );
    expect(messages({ id: 'rp-x' }).join(' | ')).toMatch(/must be a recovery point id such as "rp-1-42"/);
    expect(messages({ time: '2026-11-26T06:30:00' }).join(' | ')).toMatch(/ISO-8601 time with a zone/);
  });
});

describe('describeChoice and parseChoiceText', () => {
  it('describes each kind of choice in one word', () => {
    expect(describeChoice('latest')).toBe('latest');
    expect(describeChoice('latestAppConsistent')).toBe('latestAppConsistent');
    expect(describeChoice({ id: 'rp-1-7' })).toBe('id:rp-1-7');
    expect(describeChoice({ time: '2026-11-26T08:30:00+02:00' })).toBe('time:2026-11-26T06:30:00.000Z');
  });

  it('reads descriptions and query-string values back', () => {
    expect(parseChoiceText('latestProcessed')).toBe('latestProcessed');
    expect(parseChoiceText('id:rp-1-7')).toEqual({ id: 'rp-1-7' });
    expect(parseChoiceText('rp-1-7')).toEqual({ id: 'rp-1-7' });
    expect(parseChoiceText('time:2026-11-26T06:30:00.000Z')).toEqual({ time: '2026-11-26T06:30:00.000Z' });
    expect(parseChoiceText('2026-11-26T08:30:00+02:00')).toEqual({ time: '2026-11-26T08:30:00+02:00' });
  });

  it.each([
    '',
    'newest',
    'id:',
    'id:rp-01-2',
    'time:',
    'time:rp-1-7',
    'id:2026-11-26T06:30:00Z',
    '2026-11-26',
  ])('reads %j as no choice', (text) => {
    expect(parseChoiceText(text)).toBeUndefined();
  });
});

/** Any choice the schema accepts; times in any zone, at millisecond precision. */
const choiceArb: fc.Arbitrary<RecoveryPointChoice> = fc.oneof(
  fc.constantFrom(...NAMED_CHOICES),
  fc
    .tuple(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }))
    .map(([g, s]) => ({ id: recoveryPointId(g, s) })),
  fc
    .tuple(
      fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(9998, 11, 31) }),
      fc.integer({ min: -14 * 4, max: 14 * 4 }).map((quarters) => quarters * 15),
    )
    .map(([ms, offsetMinutes]) => ({ time: atOffset(ms, offsetMinutes) })),
);

/** `ms` written as the local time of a zone `offsetMinutes` east of UTC, e.g. `…T08:30:00.000+02:00`. */
function atOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function sameChoice(a: RecoveryPointChoice, b: RecoveryPointChoice | undefined): boolean {
  if (b === undefined) return false;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if ('id' in a) return 'id' in b && a.id === b.id;
  return 'time' in b && new Date(a.time).getTime() === new Date(b.time).getTime();
}

describe('choice properties', () => {
  it('every valid choice passes the schema and survives describe → parse', () => {
    fc.assert(
      fc.property(choiceArb, (choice) => {
        expect(recoveryPointChoiceSchema.safeParse(choice).success).toBe(true);
        const text = describeChoice(choice);
        const back = parseChoiceText(text);
        expect(sameChoice(choice, back)).toBe(true);
        // The description is canonical: describing what was read back gives the same text.
        expect(describeChoice(back!)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('whatever text parses is a choice the schema accepts', () => {
    const texts = fc.oneof(
      fc.string(),
      choiceArb.map(describeChoice),
      fc.constantFrom('id:', 'time:', 'rp-', 'latest', 'id:rp-', 'time:2026-'),
    );
    fc.assert(
      fc.property(texts, fc.string({ maxLength: 3 }), (text, tail) => {
        for (const t of [text, text + tail]) {
          const choice = parseChoiceText(t);
          if (choice !== undefined) expect(recoveryPointChoiceSchema.safeParse(choice).success).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The recovery point a failover asks for (DESIGN §6): `latest` (drain the cache, then cut a point),
 * `latestProcessed` (the newest point already cut), `latestAppConsistent`, a point by id, or a source
 * time (any-point-in-time: the point before it plus the journal replayed up to it).
 */
import { z } from 'zod';

import { parseRecoveryPointId } from './types';

export const NAMED_CHOICES = ['latest', 'latestProcessed', 'latestAppConsistent'] as const;
export type NamedChoice = (typeof NAMED_CHOICES)[number];

export type RecoveryPointChoice = NamedChoice | { id: string } | { time: string };

const CHOICES_TEXT =
  'must be "latest", "latestProcessed", "latestAppConsistent", {"id": "rp-<generation>-<sequence>"} or {"time": "<ISO-8601>"}';

export const recoveryPointChoiceSchema = z.union(
  [
    z.enum(NAMED_CHOICES, { error: () => CHOICES_TEXT }),
    z.strictObject({
      id: z.string().refine((id) => parseRecoveryPointId(id) !== undefined, {
        message: 'must be a recovery point id such as "rp-1-42" (GET …/recovery-points lists them)',
      }),
    }),
    z.strictObject({
      time: z.iso.datetime({
        offset: true,
        message: 'must be an ISO-8601 time with a zone, e.g. "2026-11-26T06:30:00Z"',
      }),
    }),
  ],
  {
    // A string that is no named choice: say what the choices are, not "Invalid input".
    error: (issue) =>
      issue.code === 'invalid_union' && typeof issue.input === 'string' ? CHOICES_TEXT : undefined,
  },
);

/** The choice in one word, as jobs and failover records show it: `latest`, `id:rp-1-7`, `time:<ISO>`. */
export function describeChoice(choice: RecoveryPointChoice): string {
  if (typeof choice === 'string') return choice;
  if ('id' in choice) return `id:${choice.id}`;
  return `time:${new Date(choice.time).toISOString()}`;
}

/** A `describeChoice` text or a query-string value (`latest`, `rp-1-7`, an ISO time) back to a choice; undefined when it is none. */
export function parseChoiceText(text: string): RecoveryPointChoice | undefined {
  if ((NAMED_CHOICES as readonly string[]).includes(text)) return text as NamedChoice;
  const id = text.startsWith('id:') ? text.slice(3) : text;
  if (parseRecoveryPointId(id)) return { id };
  const time = text.startsWith('time:') ? text.slice(5) : text;
  const parsed = recoveryPointChoiceSchema.safeParse({ time });
  return parsed.success ? (parsed.data as { time: string }) : undefined;
}

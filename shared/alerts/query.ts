/**
 * The alert hook's query: `recoveryPoint` (latest | latestProcessed | latestAppConsistent | a point id
 * | an ISO time; default latestProcessed), `dryRun` (true | false) and `secret`. Other parameters
 * (`code`, the function key) are left alone.
 */
import { z } from 'zod';

import { validate } from '../http/body';
import { parseChoiceText, type RecoveryPointChoice } from '../recoveryPoints/choice';

export interface AlertQuery {
  recoveryPoint: RecoveryPointChoice;
  dryRun: boolean;
  secret?: string;
}

const schema = z.object({
  recoveryPoint: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return 'latestProcessed' as const;
      const choice = parseChoiceText(text.trim());
      if (choice === undefined) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be latest, latestProcessed, latestAppConsistent, a recovery point id (rp-<generation>-<sequence>) or an ISO-8601 time with a zone',
        });
        return z.NEVER;
      }
      return choice;
    }),
  dryRun: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const value = text?.trim().toLowerCase();
      // `?dryRun` alone means true.
      if (value === undefined || value === 'false') return false;
      if (value === 'true' || value === '') return true;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    }),
});

export function parseAlertQuery(query: URLSearchParams): AlertQuery {
  const get = (name: string): string | undefined => query.get(name) ?? undefined;
  const parsed = validate(schema, { recoveryPoint: get('recoveryPoint'), dryRun: get('dryRun') }, 'query');
  const secret = get('secret');
  return { ...parsed, ...(secret === undefined ? {} : { secret }) };
}

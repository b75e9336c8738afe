/**
 * The alert hook's own app setting: `TIDEMARK_ALERT_SECRET`. When it is set, every alert must carry
 * it (query `secret` or header `x-tidemark-alert-secret`) besides the function key, so a leaked key
 * alone can't fail VMs over. Read on each request (it is one environment variable), validated with zod.
 */
import crypto from 'node:crypto';

import { z } from 'zod';

import { TidemarkError } from '../errors';

export const ALERT_SECRET_HEADER = 'x-tidemark-alert-secret';
export const MIN_SECRET_LENGTH = 16;

const schema = z.object({
  TIDEMARK_ALERT_SECRET: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
  ),
});

export interface AlertSettings {
  secret?: string;
}

export function readAlertSettings(env: Record<string, string | undefined> = process.env): AlertSettings {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new TidemarkError('InvalidConfig', `The alert hook's app settings are invalid: ${problems}.`, {
      hint: 'Set TIDEMARK_ALERT_SECRET to a long random string (or remove it); see docs/alerts.md.',
    });
  }
  const secret = result.data.TIDEMARK_ALERT_SECRET;
  return secret === undefined ? {} : { secret };
}

/** Equal in constant time (both sides hashed first, so neither length nor content leaks). */
function secretsEqual(a: string, b: string): boolean {
  const hash = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();
  return crypto.timingSafeEqual(hash(a), hash(b));
}

/** Unauthorized (401) unless the alert carries the configured secret; nothing to check when none is set. */
export function checkAlertSecret(settings: AlertSettings, presented: string | undefined): void {
  if (settings.secret === undefined) return;
  const hint = `Add the secret to the webhook URL as ?secret=… or send it in the ${ALERT_SECRET_HEADER} header (docs/alerts.md).`;
  if (presented === undefined || presented === '') {
    throw new TidemarkError('Unauthorized', 'The alert carries no alert secret, and this app requires one.', {
      hint,
    });
  }
  if (!secretsEqual(presented, settings.secret)) {
    throw new TidemarkError('Unauthorized', 'The alert secret is wrong.', { hint });
  }
}

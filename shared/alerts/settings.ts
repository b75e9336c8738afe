/**
 * The alert hook's own app setting: `TIDEMARK_ALERT_SECRET` (declared in shared/settings.ts). When it
 * is set, every alert must carry it (query `secret` or header `x-tidemark-alert-secret`) besides the
 * function key, so a leaked key alone can't fail VMs over. Read on each request (it is one
 * environment variable), validated by the settings registry.
 */
import crypto from 'node:crypto';

import { TidemarkError } from '../errors';
import { MIN_ALERT_SECRET_LENGTH, readSetting } from '../settings';

export const ALERT_SECRET_HEADER = 'x-tidemark-alert-secret';
export const MIN_SECRET_LENGTH = MIN_ALERT_SECRET_LENGTH;

export interface AlertSettings {
  secret?: string;
}

export function readAlertSettings(env: Record<string, string | undefined> = process.env): AlertSettings {
  const secret = readSetting('TIDEMARK_ALERT_SECRET', env);
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

/**
 * Binding expressions as the Functions host resolves them in binding paths and names:
 * `%AppSetting%`, `{name}` from binding data (trigger metadata keys and trigger payload properties,
 * case-insensitive, dotted paths allowed), `{rand-guid}`, `{DateTime}` / `{datetime:format}` and
 * `{sys.utcnow}`, `{sys.randguid}`.
 */
import crypto from 'node:crypto';

import { TidemarkError } from '../../shared/errors';
import type { Settings } from '../settings';

export function resolveBindingExpression(
  template: string,
  bindingData: Record<string, unknown>,
  settings: Settings,
  now: Date,
  what: string,
): string {
  const withSettings = settings.resolve(template, what);
  return withSettings.replace(/\{([^{}]+)\}/g, (_, raw: string) => {
    const expr = raw.trim();
    const lower = expr.toLowerCase();
    if (lower === 'rand-guid' || lower === 'sys.randguid') return crypto.randomUUID();
    if (lower === 'datetime' || lower === 'sys.utcnow') return now.toISOString();
    const value = lookup(bindingData, expr);
    if (value === undefined || value === null) {
      throw new TidemarkError('InvalidArgument', `${what}: no value for the binding expression {${expr}}.`, {
        hint: `Known binding data: ${Object.keys(bindingData).join(', ') || '(none)'}.`,
      });
    }
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

function lookup(data: Record<string, unknown>, expr: string): unknown {
  let current: unknown = data;
  for (const part of expr.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    const obj = current as Record<string, unknown>;
    const key = Object.keys(obj).find((k) => k.toLowerCase() === part.toLowerCase());
    current = key === undefined ? undefined : obj[key];
  }
  return current;
}

/**
 * host.json: the version check and the top-level keys the host itself uses. Each plugin validates its
 * own `extensions.<name>` section with its own schema (see extensionSection).
 */
import fs from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { TidemarkError } from '../shared/errors';
import { parseTimeSpan } from './timeSpan';

const hostJsonSchema = z
  .object({
    version: z.literal('2.0', { error: 'host.json "version" must be "2.0" (the Functions v4 host).' }),
    functionTimeout: z.string().optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
    retry: z.unknown().optional(),
    logging: z.unknown().optional(),
    extensionBundle: z.unknown().optional(),
  })
  .loose();

export type HostJson = z.infer<typeof hostJsonSchema> & {
  /** functionTimeout in ms, or undefined for none (-1). */
  functionTimeoutMs?: number;
};

export function loadHostJson(appDir: string): HostJson {
  const file = path.join(appDir, 'host.json');
  if (!fs.existsSync(file)) {
    throw new TidemarkError('InvalidConfig', `No host.json in ${appDir}.`, {
      hint: 'A Functions app folder needs host.json with at least {"version": "2.0"}.',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TidemarkError('InvalidConfig', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = parseConfig(hostJsonSchema, raw, 'host.json');
  const result: HostJson = { ...parsed };
  if (parsed.functionTimeout && parsed.functionTimeout !== '-1') {
    result.functionTimeoutMs = parseTimeSpan(parsed.functionTimeout, 'host.json functionTimeout');
  }
  return result;
}

/** Validates `extensions.<name>` of host.json with a plugin's schema (its defaults are Azure's). */
export function extensionSection<T extends z.ZodType>(
  hostJson: HostJson,
  name: string,
  schema: T,
): z.infer<T> {
  const section = hostJson.extensions?.[name] ?? {};
  return parseConfig(schema, section, `host.json extensions.${name}`);
}

export function parseConfig<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new TidemarkError('InvalidConfig', `${where} is invalid: ${problems}`, {
      details: { issues: result.error.issues },
      hint: `Fix ${where}; see docs/local-host.md for the accepted keys and their defaults.`,
    });
  }
  return result.data;
}

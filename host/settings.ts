/**
 * App settings as the Functions host sees them: `local.settings.json` `Values`, with the process
 * environment on top (Core Tools' order), plus explicit overrides from startHost().
 */
import fs from 'node:fs';
import path from 'node:path';

import { TidemarkError } from '../shared/errors';

export class Settings {
  constructor(private readonly values: Readonly<Record<string, string>>) {}

  get(name: string): string | undefined {
    if (name in this.values) return this.values[name];
    // App Service turns `__` into `:` for nested settings; accept either spelling.
    const alt = name.includes(':') ? name.replaceAll(':', '__') : name.replaceAll('__', ':');
    return this.values[alt];
  }

  require(name: string, purpose: string): string {
    const value = this.get(name);
    if (value === undefined || value === '') {
      throw new TidemarkError('InvalidConfig', `The app setting "${name}" is not set (${purpose}).`, {
        hint: `Add "${name}" to local.settings.json "Values" or to the environment.`,
      });
    }
    return value;
  }

  all(): Readonly<Record<string, string>> {
    return this.values;
  }

  /** Resolves `%Name%` references the way binding attributes do; an unknown name is a config error. */
  resolve(text: string, what: string): string {
    return text.replace(/%([^%]+)%/g, (_, name: string) => {
      const value = this.get(name);
      if (value === undefined) {
        throw new TidemarkError(
          'InvalidConfig',
          `${what} refers to the app setting "%${name}%", which is not set.`,
          {
            hint: `Define "${name}" in local.settings.json "Values" or in the environment.`,
          },
        );
      }
      return value;
    });
  }
}

export function readLocalSettings(appDir: string): Record<string, string> {
  const file = path.join(appDir, 'local.settings.json');
  if (!fs.existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TidemarkError('InvalidConfig', `${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Fix the JSON syntax, or start from local.settings.json.example.',
    });
  }
  const values = (parsed as { Values?: unknown }).Values;
  if (values === undefined) return {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new TidemarkError('InvalidConfig', `${file}: "Values" must be an object of strings.`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : String(v);
  }
  return out;
}

export function loadSettings(
  appDir: string,
  overrides: Record<string, string> = {},
  env = process.env,
): Settings {
  const values: Record<string, string> = { ...readLocalSettings(appDir) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) values[k] = v;
  Object.assign(values, overrides);
  return new Settings(values);
}

import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  type AzureSetting,
  declarationOf,
  SETTING_FAMILIES,
  SETTINGS,
  type SettingName,
  settingsSetInAzure,
} from '../../../shared/settings';
import { bicepAppSettings, checkBicepProject, parseBicep } from '../../helpers/bicep';

const ROOT = path.join(__dirname, '../../..');

/** Every app setting the templates under infra/ set, with the file that sets it. */
function appSettingsInBicep(): { names: Map<string, string>; problems: string[] } {
  const { files } = checkBicepProject(path.join(ROOT, 'infra/main.bicep'));
  const names = new Map<string, string>();
  const problems: string[] = [];
  for (const file of files) {
    const found = bicepAppSettings(parseBicep(fs.readFileSync(file, 'utf8'), path.relative(ROOT, file)));
    problems.push(...found.problems);
    for (const name of found.names) {
      if (names.has(name)) problems.push(`${name} is set twice (${names.get(name)}, ${file})`);
      names.set(name, path.relative(ROOT, file));
    }
  }
  return { names, problems };
}

function azureOf(name: string): AzureSetting | undefined {
  const declaration = declarationOf(name);
  if (!declaration) return undefined;
  return declaration.kind === 'family' ? declaration.family.azure : SETTINGS[declaration.name].azure;
}

describe('app settings: shared/settings.ts ⇄ infra/*.bicep', () => {
  const bicep = appSettingsInBicep();

  it('reads the app settings from the Bicep statically', () => {
    expect(bicep.problems).toEqual([]);
    expect(bicep.names.size).toBeGreaterThan(10);
  });

  it('sets every setting the registry marks as set in Azure', () => {
    const missing = settingsSetInAzure().filter((name) => !bicep.names.has(name));
    expect(missing, 'declared azure: "bicep" in shared/settings.ts but not set in infra/').toEqual([]);
  });

  it('sets only settings the registry declares', () => {
    const undeclared = [...bicep.names.keys()].filter((name) => declarationOf(name) === undefined);
    expect(undeclared, 'set in infra/ but not declared in shared/settings.ts').toEqual([]);
  });

  it('sets nothing the registry keeps local or leaves to the platform', () => {
    const wrong = [...bicep.names.keys()].filter((name) => {
      const azure = azureOf(name);
      return azure === 'local' || azure === 'platform';
    });
    expect(wrong).toEqual([]);
  });

  it('sets each storage connection in the form the registry declares for Azure', () => {
    for (const name of Object.keys(SETTINGS) as SettingName[]) {
      const declaration = SETTINGS[name] as { connection?: { azureForm: string }; azure: string };
      if (!declaration.connection || declaration.azure !== 'bicep') continue;
      const identity = [...bicep.names.keys()].filter((n) => n.startsWith(`${name}__`));
      if (declaration.connection.azureForm === 'identity') {
        expect(bicep.names.has(name), `${name} is identity-based in Azure`).toBe(false);
        expect(identity, name).toContain(`${name}__credential`);
      } else {
        expect(identity, `${name} is a connection string in Azure`).toEqual([]);
      }
    }
  });

  it('declares the families it knows by a pattern', () => {
    expect(declarationOf('AzureWebJobs.applyDelta.Disabled')).toMatchObject({ kind: 'family' });
    expect(SETTING_FAMILIES.every((f) => f.azure !== 'bicep')).toBe(true);
  });
});

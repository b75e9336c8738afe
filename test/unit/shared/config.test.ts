import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../shared/config';
import { TIDEMARK_VERSION } from '../../../shared/version';

describe('config', () => {
  it('defaults the regions and falls back to AzureWebJobsStorage for the target', () => {
    const c = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(c.source.name).toBe('eastus');
    expect(c.target).toMatchObject({ name: 'westus', connectionString: 'UseDevelopmentStorage=true' });
  });
  it('rejects an empty region name', () => {
    expect(() => loadConfig({ TIDEMARK_SOURCE_REGION: '' })).toThrow(/TIDEMARK_SOURCE_REGION/);
  });
  it('keeps the version in step with package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(TIDEMARK_VERSION).toBe(pkg.version);
  });
});

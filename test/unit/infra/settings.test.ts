import fs from 'node:fs';
import path from 'node:path';

import { ManagedIdentityCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';

import { SETTING_POLL_INTERVAL, SETTING_RETRY_DELAY } from '../../../host/triggers/blob/config';
import { readAlertSettings } from '../../../shared/alerts/settings';
import { loadConfig } from '../../../shared/config';
import { isTidemarkError, type TidemarkError } from '../../../shared/errors';
import { recoveryPointSchedule } from '../../../shared/recoveryPoints/settings';
import {
  CONNECTION_SETTINGS,
  declarationOf,
  type Env,
  exampleLocalSettings,
  loadSettings,
  readSetting,
  SETTING_FAMILIES,
  SETTINGS,
  type SettingName,
} from '../../../shared/settings';
import {
  blobServiceClient,
  credentialFor,
  queueServiceClient,
  tableClient,
} from '../../../shared/storageClients';
import { generatedPart, normalize, settingsTables } from '../../helpers/settingsDoc';

const ROOT = path.join(__dirname, '../../..');
const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const CLIENT = '99999999-8888-7777-6666-555555555555';
const KEYED =
  'DefaultEndpointsProtocol=https;AccountName=tmcache;AccountKey=a2V5;EndpointSuffix=core.windows.net';

/** What infra/main.bicep gives the function app, with sample values. */
const AZURE_ENV: Env = {
  AzureWebJobsStorage__blobServiceUri: 'https://tmdata.blob.core.windows.net/',
  AzureWebJobsStorage__queueServiceUri: 'https://tmdata.queue.core.windows.net/',
  AzureWebJobsStorage__tableServiceUri: 'https://tmdata.table.core.windows.net/',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: CLIENT,
  TIDEMARK_TASK_HUB: 'tidemark',
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    'InstrumentationKey=x;IngestionEndpoint=https://westus-0.in.applicationinsights.azure.com/',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${CLIENT};Authorization=AAD`,
  TIDEMARK_SOURCE_REGION: 'eastus',
  TIDEMARK_TARGET_REGION: 'westus',
  TIDEMARK_SOURCE_STORAGE: KEYED,
  TIDEMARK_TARGET_STORAGE: KEYED.replace('tmcache', 'tmdata'),
  TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 */5 * * * *',
  TIDEMARK_ALERT_SECRET: '',
  TIDEMARK_FABRIC: 'arm',
  AZURE_SUBSCRIPTION_ID: SUBSCRIPTION,
  AZURE_CLIENT_ID: CLIENT,
  TIDEMARK_ARM_ENDPOINT: 'https://management.azure.com/',
  WEBSITE_HOSTNAME: 'func-tidemark.azurewebsites.net',
  WEBSITE_SITE_NAME: 'func-tidemark',
};

function refusal(fn: () => unknown): TidemarkError {
  try {
    fn();
  } catch (err) {
    if (isTidemarkError(err, 'InvalidConfig')) return err;
    throw err;
  }
  throw new Error('expected InvalidConfig');
}

/** The refusal of `env` names `setting` in its message and its fix in the hint. */
function expectRefused(env: Env, setting: string, problem: RegExp): TidemarkError {
  const err = refusal(() => loadSettings(env));
  expect(err.message).toMatch(new RegExp(`${setting.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  expect(err.message).toMatch(problem);
  expect(err.hint).toContain(`${setting}: `);
  expect(err.details?.settings).toContain(setting);
  return err;
}

describe('the settings registry (shared/settings.ts)', () => {
  it('loads what infra/ sets in Azure', () => {
    const { values, connections } = loadSettings(AZURE_ENV);
    expect(values).toMatchObject({
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_FABRIC: 'arm',
      AZURE_SUBSCRIPTION_ID: SUBSCRIPTION,
      TIDEMARK_ALERT_SECRET: undefined,
      TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 */5 * * * *',
    });
    expect(connections.AzureWebJobsStorage).toEqual({
      kind: 'identity',
      setting: 'AzureWebJobsStorage',
      blobServiceUri: 'https://tmdata.blob.core.windows.net/',
      queueServiceUri: 'https://tmdata.queue.core.windows.net/',
      tableServiceUri: 'https://tmdata.table.core.windows.net/',
      credential: 'managedidentity',
      clientId: CLIENT,
    });
    expect(connections.TIDEMARK_SOURCE_STORAGE).toEqual({
      kind: 'connectionString',
      setting: 'TIDEMARK_SOURCE_STORAGE',
      connectionString: KEYED,
    });
  });

  it('applies the defaults to an empty environment', () => {
    const { values, connections } = loadSettings({});
    expect(values).toMatchObject({
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_TARGET_REGION: 'westus',
      TIDEMARK_TASK_HUB: 'tidemark',
      TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 */5 * * * *',
      TIDEMARK_FABRIC: 'local',
      TIDEMARK_ARM_ENDPOINT: 'https://management.azure.com',
      TIDEMARK_BLOB_POLL_INTERVAL_MS: 250,
      TIDEMARK_BLOB_RETRY_DELAY_SECONDS: 1,
      TIDEMARK_PORT: 7071,
      TIDEMARK_SOURCE_PORT_BASE: 10000,
      TIDEMARK_TARGET_PORT_BASE: 10010,
      TIDEMARK_LOG_LEVEL: 'info',
    });
    expect(values.TIDEMARK_SOURCE_STORAGE).toBeUndefined();
    expect(values.TIDEMARK_AGENT_HEARTBEAT_MS).toBeUndefined();
    expect(Object.values(connections).every((c) => c === undefined)).toBe(true);
    // An empty schedule is the default too.
    expect(
      loadSettings({ TIDEMARK_RECOVERY_POINT_SCHEDULE: ' ' }).values.TIDEMARK_RECOVERY_POINT_SCHEDULE,
    ).toBe('0 */5 * * * *');
  });

  it('coerces numbers', () => {
    const { values } = loadSettings({ TIDEMARK_AGENT_HEARTBEAT_MS: '1000', TIDEMARK_PORT: '0' });
    expect(values.TIDEMARK_AGENT_HEARTBEAT_MS).toBe(1000);
    expect(values.TIDEMARK_PORT).toBe(0);
  });

  describe('names each bad setting and its fix', () => {
    const cases: [string, Env, string, RegExp][] = [
      ['an empty value', { TIDEMARK_SOURCE_REGION: '' }, 'TIDEMARK_SOURCE_REGION', /must not be empty/],
      ['a value outside an enum', { TIDEMARK_FABRIC: 'aws' }, 'TIDEMARK_FABRIC', /TIDEMARK_FABRIC: /],
      ['a malformed GUID', { AZURE_SUBSCRIPTION_ID: 'my-sub' }, 'AZURE_SUBSCRIPTION_ID', /GUID/],
      ['a malformed URL', { TIDEMARK_ARM_ENDPOINT: 'management' }, 'TIDEMARK_ARM_ENDPOINT', /URL/],
      [
        'a number that is not one',
        { TIDEMARK_AGENT_HEARTBEAT_MS: 'soon' },
        'TIDEMARK_AGENT_HEARTBEAT_MS',
        /number/i,
      ],
      ['a number out of range', { TIDEMARK_SOURCE_PORT_BASE: '70000' }, 'TIDEMARK_SOURCE_PORT_BASE', /65533/],
      [
        'a fraction',
        { TIDEMARK_BLOB_POLL_INTERVAL_MS: '2.5' },
        'TIDEMARK_BLOB_POLL_INTERVAL_MS',
        /whole number/,
      ],
      [
        'a five-field schedule',
        { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/5 * * * *' },
        'TIDEMARK_RECOVERY_POINT_SCHEDULE',
        /six fields/,
      ],
      ['a short alert secret', { TIDEMARK_ALERT_SECRET: 'short' }, 'TIDEMARK_ALERT_SECRET', /at least 16/],
      ['a bad task hub', { TIDEMARK_TASK_HUB: 'my-hub' }, 'TIDEMARK_TASK_HUB', /letters and digits/],
      [
        'an unknown log level',
        { TIDEMARK_LOG_LEVEL: 'verbose' },
        'TIDEMARK_LOG_LEVEL',
        /TIDEMARK_LOG_LEVEL: /,
      ],
      [
        'a worker other than node',
        { FUNCTIONS_WORKER_RUNTIME: 'dotnet' },
        'FUNCTIONS_WORKER_RUNTIME',
        /node/,
      ],
      [
        'telemetry auth without AAD',
        { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=x' },
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        /Authorization=AAD/,
      ],
      [
        'a bad Disabled flag',
        { 'AzureWebJobs.applyDelta.Disabled': 'yes' },
        'AzureWebJobs.applyDelta.Disabled',
        /true, false, 1 or 0/,
      ],
      [
        'arm without a subscription',
        { TIDEMARK_FABRIC: 'arm' },
        'AZURE_SUBSCRIPTION_ID',
        /TIDEMARK_FABRIC is arm/,
      ],
    ];
    it.each(cases)('%s', (_what, env, setting, problem) => {
      expectRefused(env, setting, problem);
    });

    it('all of them at once, in one error', () => {
      const err = refusal(() =>
        loadSettings({
          TIDEMARK_FABRIC: 'aws',
          TIDEMARK_PORT: 'x',
          TIDEMARK_ALERT_SECRET: 'short',
          TIDEMARK_TASK_HUB: '1',
        }),
      );
      expect(err.details?.settings).toEqual([
        'TIDEMARK_TASK_HUB',
        'TIDEMARK_ALERT_SECRET',
        'TIDEMARK_FABRIC',
        'TIDEMARK_PORT',
      ]);
      expect(err.hint).toMatch(/docs\/settings.md/);
    });

    it('without echoing values (secrets stay out of errors)', () => {
      const secret = 'AccountKey=c2VjcmV0';
      const err = refusal(() =>
        loadSettings({ TIDEMARK_ALERT_SECRET: 'tiny', TIDEMARK_SOURCE_STORAGE__clientSecret: secret }),
      );
      expect(`${err.message} ${err.hint}`).not.toContain('tiny');
      expect(`${err.message} ${err.hint}`).not.toContain(secret);
    });
  });

  describe('identity-based storage connections', () => {
    it('takes service URIs, or an account name it derives them from', () => {
      const { connections } = loadSettings({
        TIDEMARK_SOURCE_STORAGE__accountName: 'tmcache',
        TIDEMARK_SOURCE_STORAGE__credential: 'ManagedIdentity',
        'TIDEMARK_TARGET_STORAGE:blobServiceUri': 'https://tmdata.blob.core.windows.net',
        'TIDEMARK_TARGET_STORAGE:TableServiceUri': 'https://tmdata.table.core.windows.net',
      });
      expect(connections.TIDEMARK_SOURCE_STORAGE).toEqual({
        kind: 'identity',
        setting: 'TIDEMARK_SOURCE_STORAGE',
        blobServiceUri: 'https://tmcache.blob.core.windows.net',
        queueServiceUri: 'https://tmcache.queue.core.windows.net',
        tableServiceUri: 'https://tmcache.table.core.windows.net',
        credential: 'managedidentity',
      });
      expect(connections.TIDEMARK_TARGET_STORAGE).toMatchObject({
        kind: 'identity',
        blobServiceUri: 'https://tmdata.blob.core.windows.net',
        tableServiceUri: 'https://tmdata.table.core.windows.net',
      });
    });

    it('lets the connection string win when both forms are set, as Azure does', () => {
      const { connections } = loadSettings({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__accountName: 'tmdata',
      });
      expect(connections.AzureWebJobsStorage).toMatchObject({ kind: 'connectionString' });
    });

    const bad: [string, Env, string, RegExp][] = [
      [
        'an unknown property',
        { TIDEMARK_SOURCE_STORAGE__blobServiceURL: 'https://x' },
        'TIDEMARK_SOURCE_STORAGE__blobServiceURL',
        /not a property/,
      ],
      [
        'an endpoint that is no URL',
        {
          TIDEMARK_SOURCE_STORAGE__blobServiceUri: 'tmcache',
          TIDEMARK_SOURCE_STORAGE__tableServiceUri: 'https://t',
        },
        'TIDEMARK_SOURCE_STORAGE__blobServiceUri',
        /https URL/,
      ],
      [
        'another credential',
        { AzureWebJobsStorage__accountName: 'tmdata', AzureWebJobsStorage__credential: 'azurecli' },
        'AzureWebJobsStorage__credential',
        /managedidentity/,
      ],
      [
        'a client id that is no GUID',
        { AzureWebJobsStorage__accountName: 'tmdata', AzureWebJobsStorage__clientId: 'my-identity' },
        'AzureWebJobsStorage__clientId',
        /GUID/,
      ],
      [
        'an account name that is a URL',
        { AzureWebJobsStorage__accountName: 'https://tmdata.blob.core.windows.net' },
        'AzureWebJobsStorage__accountName',
        /storage account name/,
      ],
      [
        'a service tidemark needs without an endpoint',
        { AzureWebJobsStorage__blobServiceUri: 'https://tmdata.blob.core.windows.net' },
        'AzureWebJobsStorage__queueServiceUri',
        /queue storage/,
      ],
      [
        'a client secret alone',
        { TIDEMARK_TARGET_STORAGE__accountName: 'tmdata', TIDEMARK_TARGET_STORAGE__clientSecret: 's' },
        'TIDEMARK_TARGET_STORAGE__clientSecret',
        /tenantId/,
      ],
      [
        'an empty property',
        { TIDEMARK_TARGET_STORAGE__accountName: 'tmdata', TIDEMARK_TARGET_STORAGE__clientId: '' },
        'TIDEMARK_TARGET_STORAGE__clientId',
        /empty/,
      ],
    ];
    it.each(bad)('refuses %s', (_what, env, setting, problem) => {
      expectRefused(env, setting, problem);
    });

    it('builds clients that sign in with the managed identity', () => {
      const { connections } = loadSettings(AZURE_ENV);
      const identity = connections.AzureWebJobsStorage!;
      if (identity.kind !== 'identity') throw new Error('expected identity');
      expect(credentialFor(identity)).toBeInstanceOf(ManagedIdentityCredential);
      expect(credentialFor(identity)).toBe(credentialFor(identity));
      const blob = blobServiceClient(identity);
      expect(blob.url).toBe('https://tmdata.blob.core.windows.net/');
      expect(blob.credential).toBe(credentialFor(identity));
      expect(queueServiceClient(identity).url).toBe('https://tmdata.queue.core.windows.net/');
      expect(tableClient(identity, 'Jobs').url).toBe('https://tmdata.table.core.windows.net/');
      // And from a connection string, as ever.
      expect(blobServiceClient(connections.TIDEMARK_SOURCE_STORAGE!).url).toBe(
        'https://tmcache.blob.core.windows.net/',
      );
      expect(tableClient(connections.TIDEMARK_SOURCE_STORAGE!, 'Jobs').tableName).toBe('Jobs');
    });

    it('refuses a client for a service the connection has no endpoint for', () => {
      const connection = { kind: 'identity', setting: 'X' } as const;
      expect(() => queueServiceClient(connection)).toThrow(/X has no queue endpoint/);
    });
  });

  it('reads one setting alone, so an unrelated bad one does not stop it', () => {
    expect(readSetting('TIDEMARK_TASK_HUB', { TIDEMARK_PORT: 'x' })).toBe('tidemark');
    expect(() => readSetting('TIDEMARK_PORT', { TIDEMARK_PORT: 'x' })).toThrow(/TIDEMARK_PORT: /);
  });

  it('is what the scattered readers read', () => {
    expect(recoveryPointSchedule({})).toBe('0 */5 * * * *');
    expect(recoveryPointSchedule({ TIDEMARK_RECOVERY_POINT_SCHEDULE: ' */2 * * * * * ' })).toBe(
      '*/2 * * * * *',
    );
    expect(() => recoveryPointSchedule({ TIDEMARK_RECOVERY_POINT_SCHEDULE: 'hourly' })).toThrow(
      /TIDEMARK_RECOVERY_POINT_SCHEDULE: must be an NCRONTAB/,
    );
    expect(readAlertSettings({ TIDEMARK_ALERT_SECRET: 'x'.repeat(16) })).toEqual({ secret: 'x'.repeat(16) });
    expect(SETTINGS[SETTING_POLL_INTERVAL as SettingName]).toBeDefined();
    expect(SETTINGS[SETTING_RETRY_DELAY as SettingName]).toBeDefined();
  });

  describe('loadConfig on top of it', () => {
    it('keeps its shape', () => {
      const config = loadConfig(AZURE_ENV);
      expect(config).toEqual({
        source: { name: 'eastus', role: 'source', connectionString: KEYED },
        target: { name: 'westus', role: 'target', connectionString: AZURE_ENV.TIDEMARK_TARGET_STORAGE },
        agent: {},
        agentCredentials: { window: 512, lifetimeMs: 168 * 3_600_000 },
        fabric: {
          kind: 'arm',
          armEndpoint: 'https://management.azure.com/',
          subscriptionId: SUBSCRIPTION,
          managedIdentityClientId: CLIENT,
        },
      });
    });

    it('validates every setting, not only its own', () => {
      expect(() => loadConfig({ TIDEMARK_TASK_HUB: 'a' })).toThrow(/TIDEMARK_TASK_HUB: /);
    });

    it('needs the region accounts as connection strings (the agent SAS is signed with the key)', () => {
      const err = refusal(() => loadConfig({ TIDEMARK_SOURCE_STORAGE__accountName: 'tmcache' }));
      expect(err.message).toMatch(/TIDEMARK_SOURCE_STORAGE is set as an identity-based connection/);
      expect(err.hint).toMatch(/AccountKey/);
    });
  });
});

describe('the registry and the rest of the repository agree', () => {
  it('local.settings.json.example holds exactly the settings with a local example, and they validate', () => {
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'local.settings.json.example'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(example.Values).toEqual(exampleLocalSettings());
    expect(() => loadSettings(example.Values)).not.toThrow();
    for (const name of Object.keys(example.Values)) {
      expect(SETTINGS[name as SettingName].azure, name).not.toBe('platform');
    }
  });

  it('docs/settings.md lists every setting, as generated', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/settings.md'), 'utf8');
    for (const name of [...Object.keys(SETTINGS), ...SETTING_FAMILIES.map((f) => f.name)]) {
      expect(doc, name).toContain(`| \`${name}\``);
    }
    expect(generatedPart(doc), 'run npm run settings:doc').toBe(normalize(settingsTables()));
  });

  it('declares every setting the code reads', () => {
    const read = new Set<string>();
    const sources = ['index.ts', 'functions', 'orchestrations', 'shared', 'host', 'local'];
    const files = sources.flatMap((s) => {
      const full = path.join(ROOT, s);
      return fs.statSync(full).isDirectory()
        ? (fs.readdirSync(full, { recursive: true }) as string[])
            .filter((f) => f.endsWith('.ts'))
            .map((f) => path.join(full, f))
        : [full];
    });
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)) read.add(m[1]!);
      for (const m of text.matchAll(/['"`](TIDEMARK_[A-Z0-9_]+)['"`]/g)) read.add(m[1]!);
      for (const m of text.matchAll(/connection: '([^']+)'/g)) read.add(m[1]!);
    }
    const hostJson = fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8');
    for (const m of hostJson.matchAll(/%([^%]+)%/g)) read.add(m[1]!);
    // TIDEMARK_VERSION is a constant; TIDEMARK_URL and TIDEMARK_KEY are the operator CLI's environment.
    const notSettings = new Set(['TIDEMARK_VERSION', 'TIDEMARK_URL', 'TIDEMARK_KEY']);
    const undeclared = [...read].filter(
      (name) => !notSettings.has(name) && declarationOf(name) === undefined,
    );
    expect(undeclared).toEqual([]);
    expect(read.has('TIDEMARK_TASK_HUB')).toBe(true);
  });

  it('knows the connections the functions bind to', () => {
    expect(CONNECTION_SETTINGS.sort()).toEqual([
      'AzureWebJobsStorage',
      'TIDEMARK_SOURCE_STORAGE',
      'TIDEMARK_TARGET_STORAGE',
    ]);
  });
});

/**
 * Every app setting tidemark reads, declared once (docs/settings.md is generated from here). Each
 * declaration says what the setting means, its zod type and default, who reads it (the app, the
 * Functions host, tidemark's local host), whether infra/main.bicep sets it in Azure, its value in
 * local.settings.json.example and how to fix a bad value. Tests keep the Bicep, the example file and
 * the doc in step with this file.
 *
 * `loadSettings(env)` validates them all at once and fails with one InvalidConfig that names every
 * bad setting and its fix; `readSetting(name, env)` reads one (for code that needs only it).
 *
 * Storage connections accept both forms Azure accepts: a connection string in `<NAME>`, or an
 * identity-based connection in `<NAME>__<property>` (`__accountName`, or `__blobServiceUri`,
 * `__queueServiceUri`, `__tableServiceUri`; `__credential: managedidentity`, `__clientId`). When the
 * connection string is set, it wins, as in Azure.
 */
import { z } from 'zod';

import { MAX_DELTA_SAS_WINDOW } from './agentConfig';
import { TidemarkError } from './errors';

/** `app`: tidemark's functions; `functions-host`: the Functions host (Azure's, or the local host in its stead); `local-host`: only tidemark's local host / `npm start`. */
export type SettingReader = 'app' | 'functions-host' | 'local-host';

/**
 * `bicep`: infra/main.bicep sets it on the function app; `optional`: may be set in Azure by hand, the
 * default is right for the deployment; `platform`: Azure sets it itself, never set it; `local`: local
 * only, never in Azure.
 */
export type AzureSetting = 'bicep' | 'optional' | 'platform' | 'local';

export type StorageService = 'blob' | 'queue' | 'table';

export interface SettingDeclaration<S extends z.ZodType = z.ZodType> {
  description: string;
  /** Parses the raw value (`undefined` when the setting is absent) into what the code uses. */
  schema: S;
  /** The default, as the setting's text (documentation; the schema applies it). */
  default?: string;
  readBy: readonly SettingReader[];
  azure: AzureSetting;
  /** Its value in local.settings.json.example; absent: the setting is not in the example. */
  example?: string;
  /** How to fix a bad or missing value. */
  fix: string;
  /** A storage connection: also accepts the identity-based form; `services` are the ones tidemark uses in it. */
  connection?: {
    services: readonly StorageService[];
    /** The form infra/main.bicep sets in Azure. */
    azureForm: 'connectionString' | 'identity';
  };
}

/** An absent or empty value is unset. */
const emptyIsUnset = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** A whole number from min to max, from its text. */
const wholeNumber = (min: number, max: number) => {
  const range = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number(range).int(range).min(min, range).max(max, range);
};

const REGION = z.string().min(1, 'must not be empty');
const CONNECTION_STRING = z.string().min(1, 'must not be empty').optional();

export const MIN_ALERT_SECRET_LENGTH = 16;
export const DEFAULT_RECOVERY_POINT_SCHEDULE = '0 */5 * * * *';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** NCRONTAB with seconds: six fields, as Azure Functions' timer trigger takes them. */
const NCRONTAB_FIELD = /^[0-9A-Za-z*/,?-]+$/;
const schedule = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim() || undefined : v),
  z
    .string()
    .refine((s) => {
      const fields = s.split(/\s+/);
      return fields.length === 6 && fields.every((f) => NCRONTAB_FIELD.test(f));
    }, 'must be an NCRONTAB expression with six fields ({second} {minute} {hour} {day} {month} {day-of-week})')
    .optional()
    .transform((s) => (s ? s : DEFAULT_RECOVERY_POINT_SCHEDULE)),
);

export const SETTINGS = {
  // ── regions and storage ──────────────────────────────────────────────────────────────────────
  TIDEMARK_SOURCE_REGION: {
    description: 'The source region: where protected VMs run and the cache storage account lives.',
    schema: REGION.default('eastus'),
    default: 'eastus',
    readBy: ['app', 'local-host'],
    azure: 'bicep',
    example: 'eastus',
    fix: 'Set it to the Azure name of the source region, e.g. eastus.',
  },
  TIDEMARK_TARGET_REGION: {
    description: 'The target region: where VMs fail over to, replicas live and the function app runs.',
    schema: REGION.default('westus'),
    default: 'westus',
    readBy: ['app', 'local-host'],
    azure: 'bicep',
    example: 'westus',
    fix: 'Set it to the Azure name of the target region, e.g. westus; it must differ from the source.',
  },
  TIDEMARK_SOURCE_STORAGE: {
    description:
      "The source region's storage: the cache account (deltas, agent config and status; locally also the " +
      'source disks and fabric). The blob trigger `applyDelta` listens on it. A connection string with the ' +
      'account key: the agent gets a SAS signed with it.',
    schema: CONNECTION_STRING,
    readBy: ['app', 'functions-host'],
    azure: 'bicep',
    example: 'UseDevelopmentStorage=true',
    fix: 'Set it to the cache storage account\'s connection string ("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…").',
    connection: { services: ['blob', 'table'], azureForm: 'connectionString' },
  },
  TIDEMARK_TARGET_STORAGE: {
    description:
      "The target region's storage: replicas, journal, recovery points, tables, and the cache of VMs " +
      'replicating back after reprotect (blob trigger `applyDeltaReverse`). Unset: AzureWebJobsStorage.',
    schema: CONNECTION_STRING,
    readBy: ['app', 'functions-host'],
    azure: 'bicep',
    example: 'UseDevelopmentStorage=true',
    fix: 'Set it to the target storage account\'s connection string ("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…").',
    connection: { services: ['blob', 'table'], azureForm: 'connectionString' },
  },
  AzureWebJobsStorage: {
    description:
      "The Functions host's storage (keys, timers, blob receipts) and the Durable task hub; in Azure the " +
      'target account, identity-based. The app falls back to it when TIDEMARK_TARGET_STORAGE is unset.',
    schema: CONNECTION_STRING,
    readBy: ['app', 'functions-host'],
    azure: 'bicep',
    example: 'UseDevelopmentStorage=true',
    fix: 'Set it to a storage connection string (UseDevelopmentStorage=true for Azurite), or AzureWebJobsStorage__accountName / __blobServiceUri… for an identity-based connection.',
    connection: { services: ['blob', 'queue', 'table'], azureForm: 'identity' },
  },
  TIDEMARK_TASK_HUB: {
    description:
      'The Durable Functions task hub (host.json `%TIDEMARK_TASK_HUB%`); its tables and queues live in AzureWebJobsStorage.',
    schema: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3 to 45 letters and digits, starting with a letter')
      .default('tidemark'),
    default: 'tidemark',
    readBy: ['functions-host', 'local-host'],
    azure: 'bicep',
    example: 'tidemark',
    fix: 'Set it to 3–45 letters and digits starting with a letter, e.g. tidemark.',
  },

  // ── replication ──────────────────────────────────────────────────────────────────────────────
  TIDEMARK_RECOVERY_POINT_SCHEDULE: {
    description: 'When the recovery-point timer runs (NCRONTAB with seconds).',
    schema: schedule,
    default: DEFAULT_RECOVERY_POINT_SCHEDULE,
    readBy: ['app'],
    azure: 'bicep',
    example: DEFAULT_RECOVERY_POINT_SCHEDULE,
    fix: 'Set six NCRONTAB fields, e.g. "0 */5 * * * *" for every 5 minutes, or leave it empty for that default.',
  },
  TIDEMARK_AGENT_HEARTBEAT_MS: {
    description:
      "Heartbeat interval (ms) enable replication writes into every agent's config; the agent's default is 30 s.",
    schema: z.preprocess(emptyIsUnset, wholeNumber(100, 3_600_000).optional()),
    readBy: ['app'],
    azure: 'optional',
    fix: 'Set a whole number of milliseconds from 100 to 3600000, or leave it unset for the agent default (30000).',
  },

  TIDEMARK_AGENT_SAS_WINDOW: {
    description:
      "How many delta sequence numbers one issue of an agent's cache credentials covers (a blob SAS each, " +
      'about 47 bytes of its config). The sweep timer issues a new window once the agent has used half of it; ' +
      'an agent at the end of its window holds writes until then.',
    schema: z.preprocess(emptyIsUnset, wholeNumber(2, MAX_DELTA_SAS_WINDOW).default(512)),
    default: '512',
    readBy: ['app'],
    azure: 'optional',
    fix: `Set a whole number from 2 to ${MAX_DELTA_SAS_WINDOW}, or leave it unset for 512.`,
  },
  TIDEMARK_AGENT_SAS_LIFETIME_HOURS: {
    description:
      "How long an agent's cache credentials stay valid (hours). The sweep timer renews them when less than a " +
      'day (or half their lifetime, if shorter) is left.',
    schema: z.preprocess(emptyIsUnset, wholeNumber(1, 720).default(168)),
    default: '168',
    readBy: ['app'],
    azure: 'optional',
    fix: 'Set a whole number of hours from 1 to 720, or leave it unset for 168 (7 days).',
  },

  // ── alerts ───────────────────────────────────────────────────────────────────────────────────
  TIDEMARK_ALERT_SECRET: {
    description:
      'When set, every alert posted to /api/alerts must carry it (`secret` query or `x-tidemark-alert-secret` header) besides the function key. Empty: no check.',
    schema: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .min(MIN_ALERT_SECRET_LENGTH, `must be at least ${MIN_ALERT_SECRET_LENGTH} characters`)
        .optional(),
    ),
    readBy: ['app'],
    azure: 'bicep',
    example: '',
    fix: `Set it to a random string of ${MIN_ALERT_SECRET_LENGTH} characters or more (openssl rand -base64 32), or leave it empty (docs/alerts.md).`,
  },

  // ── fabric ───────────────────────────────────────────────────────────────────────────────────
  TIDEMARK_FABRIC: {
    description:
      'Where VMs, networks and disks live: `local` (table-backed, the demo) or `arm` (Azure Resource Manager).',
    schema: z.enum(['local', 'arm']).default('local'),
    default: 'local',
    readBy: ['app'],
    azure: 'bicep',
    example: 'local',
    fix: 'Set it to local or arm.',
  },
  AZURE_SUBSCRIPTION_ID: {
    description: 'The subscription the ARM fabric works in; required when TIDEMARK_FABRIC is arm.',
    schema: z.guid('must be a subscription id (a GUID)').optional(),
    readBy: ['app'],
    azure: 'bicep',
    fix: 'Set it to the id of the subscription whose VMs tidemark protects (az account show --query id).',
  },
  TIDEMARK_ARM_ENDPOINT: {
    description: "Resource Manager's endpoint (another cloud, or a test server).",
    schema: z.url('must be a URL').default('https://management.azure.com'),
    default: 'https://management.azure.com',
    readBy: ['app'],
    azure: 'bicep',
    fix: 'Set it to the Resource Manager URL of your cloud, e.g. https://management.azure.com.',
  },
  AZURE_CLIENT_ID: {
    description:
      'Client id of the user-assigned managed identity the ARM fabric (and DefaultAzureCredential) signs in with.',
    schema: z.string().min(1, 'must not be empty').optional(),
    readBy: ['app'],
    azure: 'bicep',
    fix: "Set it to the managed identity's client id (az identity show --query clientId), or remove it.",
  },

  // ── monitoring (the Functions host in Azure) ─────────────────────────────────────────────────
  APPLICATIONINSIGHTS_CONNECTION_STRING: {
    description: 'Where the Functions host sends logs and metrics (Application Insights).',
    schema: z.string().min(1, 'must not be empty').optional(),
    readBy: ['functions-host'],
    azure: 'bicep',
    fix: "Set it to the Application Insights resource's connection string.",
  },
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: {
    description:
      'Sends telemetry with Microsoft Entra authentication: `ClientId=<identity>;Authorization=AAD`.',
    schema: z
      .string()
      .regex(/(^|;)\s*Authorization=AAD\s*(;|$)/i, 'must contain Authorization=AAD')
      .optional(),
    readBy: ['functions-host'],
    azure: 'bicep',
    fix: 'Set it to "ClientId=<managed identity client id>;Authorization=AAD", or remove it.',
  },

  // ── the Functions host ───────────────────────────────────────────────────────────────────────
  FUNCTIONS_WORKER_RUNTIME: {
    description:
      'The language worker, for Core Tools and the local host. Flex Consumption takes it from the site (`functionAppConfig.runtime`) and refuses the setting.',
    schema: z.literal('node', 'must be node').optional(),
    readBy: ['functions-host'],
    azure: 'local',
    example: 'node',
    fix: 'Set it to node.',
  },
  AzureFunctionsWebHost__hostid: {
    description:
      "The host id (timer locks, blob receipts), lower-cased, its first 32 characters; else derived from the app's name.",
    schema: z
      .string()
      .regex(
        /^[a-z0-9](?:-?[a-z0-9])*$/i,
        'must be letters, digits and single dashes, starting and ending with a letter or digit',
      )
      .optional(),
    readBy: ['functions-host'],
    azure: 'optional',
    fix: 'Set letters, digits and single dashes (at most 32 count), or remove it.',
  },
  WEBSITE_HOSTNAME: {
    description:
      "The app's host name; Durable's HTTP management URLs use it. Azure sets it; the local host sets it to its own address.",
    schema: z.string().optional(),
    readBy: ['app', 'functions-host'],
    azure: 'platform',
    fix: 'Leave it to the platform.',
  },
  WEBSITE_SITE_NAME: {
    description: "The app's name (Azure sets it); the task hub's name when host.json names none.",
    schema: z.string().optional(),
    readBy: ['functions-host'],
    azure: 'platform',
    fix: 'Leave it to the platform.',
  },
  WEBSITE_TIME_ZONE: {
    description:
      'Time zone of timer schedules (IANA name) in the local host. Linux plans in Azure (Flex Consumption) run timers in UTC.',
    schema: z.string().optional(),
    readBy: ['functions-host'],
    azure: 'local',
    fix: 'Set an IANA time zone such as Europe/Paris, or remove it for UTC.',
  },
  TZ: {
    description:
      "The process's time zone; the local host's timer schedules use it when WEBSITE_TIME_ZONE is unset.",
    schema: z.string().optional(),
    readBy: ['local-host'],
    azure: 'local',
    fix: 'Set an IANA time zone, or unset it for UTC.',
  },

  // ── tidemark's local host (`npm start`, host/cli.ts) ─────────────────────────────────────────
  TIDEMARK_FUNCTION_KEY: {
    description: "The local host's default function key; empty: generated once and kept in its data folder.",
    schema: z.string().optional(),
    readBy: ['local-host'],
    azure: 'local',
    example: '',
    fix: 'Set any string, or leave it empty for a generated key.',
  },
  TIDEMARK_MASTER_KEY: {
    description: "The local host's master key; empty: generated once and kept in its data folder.",
    schema: z.string().optional(),
    readBy: ['local-host'],
    azure: 'local',
    example: '',
    fix: 'Set any string, or leave it empty for a generated key.',
  },
  TIDEMARK_BLOB_POLL_INTERVAL_MS: {
    description:
      'The local blob trigger: pause between two listings of a watched container (Azure uses Event Grid).',
    schema: z.preprocess(emptyIsUnset, wholeNumber(10, 600_000).default(250)),
    default: '250',
    readBy: ['local-host'],
    azure: 'local',
    example: '250',
    fix: 'Set a whole number of milliseconds from 10 to 600000.',
  },
  TIDEMARK_BLOB_RETRY_DELAY_SECONDS: {
    description:
      'The local blob trigger: first retry delay after a failure, doubling per attempt up to 60 s.',
    schema: z.preprocess(emptyIsUnset, wholeNumber(0, 3600).default(1)),
    default: '1',
    readBy: ['local-host'],
    azure: 'local',
    example: '1',
    fix: 'Set a whole number of seconds from 0 to 3600.',
  },
  TIDEMARK_PORT: {
    description: '`npm start`: the port the local host listens on (environment only).',
    schema: wholeNumber(0, 65535).default(7071),
    default: '7071',
    readBy: ['local-host'],
    azure: 'local',
    fix: 'Set a port number from 0 to 65535 (0: any free port).',
  },
  TIDEMARK_SOURCE_PORT_BASE: {
    description: "`npm start`: the source region's Azurite ports (blob, queue = +1, table = +2).",
    schema: wholeNumber(1, 65533).default(10000),
    default: '10000',
    readBy: ['local-host'],
    azure: 'local',
    fix: 'Set a port number from 1 to 65533; the next two ports must be free too.',
  },
  TIDEMARK_TARGET_PORT_BASE: {
    description: "`npm start`: the target region's Azurite ports (blob, queue = +1, table = +2).",
    schema: wholeNumber(1, 65533).default(10010),
    default: '10010',
    readBy: ['local-host'],
    azure: 'local',
    fix: 'Set a port number from 1 to 65533; the next two ports must be free too.',
  },
  TIDEMARK_LOG_LEVEL: {
    description: '`npm start`: the log level of the local stack.',
    schema: z.enum(LOG_LEVELS).default('info'),
    default: 'info',
    readBy: ['local-host'],
    azure: 'local',
    fix: `Set one of ${LOG_LEVELS.join(', ')}.`,
  },
} as const satisfies Record<string, SettingDeclaration>;

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

/** Settings named by a pattern: one per function. */
export interface SettingFamily {
  /** How the docs spell it. */
  name: string;
  pattern: RegExp;
  description: string;
  schema: z.ZodType;
  readBy: readonly SettingReader[];
  azure: AzureSetting;
  fix: string;
}

export const SETTING_FAMILIES: readonly SettingFamily[] = [
  {
    name: 'AzureWebJobs.<function>.Disabled',
    pattern: /^AzureWebJobs\.[^.]+\.Disabled$/i,
    description: '`true` or `1` turns the function off; the host does not run its trigger.',
    schema: z.string().regex(/^(true|false|1|0)$/i, 'must be true, false, 1 or 0'),
    readBy: ['functions-host'],
    azure: 'optional',
    fix: 'Set true (or 1) to disable the function, false (or 0) or remove it to enable it.',
  },
];

// ── identity-based storage connections ──────────────────────────────────────────────────────────

/** The properties Azure reads in `<connection>__<property>`, in their usual spelling. */
export const CONNECTION_PROPERTIES = [
  'accountName',
  'serviceUri',
  'blobServiceUri',
  'queueServiceUri',
  'tableServiceUri',
  'credential',
  'clientId',
  'tenantId',
  'clientSecret',
] as const;
export type ConnectionProperty = (typeof CONNECTION_PROPERTIES)[number];

export type ConnectionSettingName = {
  [K in SettingName]: (typeof SETTINGS)[K] extends { connection: object } ? K : never;
}[SettingName];

export const CONNECTION_SETTINGS = (Object.keys(SETTINGS) as SettingName[]).filter(
  (n) => (SETTINGS[n] as SettingDeclaration).connection !== undefined,
) as ConnectionSettingName[];

export interface IdentityConnection {
  kind: 'identity';
  setting: string;
  blobServiceUri?: string;
  queueServiceUri?: string;
  tableServiceUri?: string;
  /** `managedidentity`: the app's managed identity (`clientId` picks a user-assigned one). */
  credential?: 'managedidentity';
  clientId?: string;
  tenantId?: string;
  clientSecret?: string;
}

export type StorageConnection =
  { kind: 'connectionString'; setting: string; connectionString: string } | IdentityConnection;

/** The DNS suffix of storage endpoints derived from `__accountName` (public Azure; elsewhere set the URIs). */
export const STORAGE_ENDPOINT_SUFFIX = 'core.windows.net';

const SERVICE_URI_PROPERTY: Record<StorageService, 'blobServiceUri' | 'queueServiceUri' | 'tableServiceUri'> =
  {
    blob: 'blobServiceUri',
    queue: 'queueServiceUri',
    table: 'tableServiceUri',
  };

/** The app setting names infra/main.bicep must set for this declaration. */
export function azureSettingNames(name: SettingName): string[] {
  const declaration: SettingDeclaration = SETTINGS[name];
  if (declaration.azure !== 'bicep') return [];
  if (declaration.connection?.azureForm !== 'identity') return [name];
  return [
    ...declaration.connection.services.map((s) => `${name}__${SERVICE_URI_PROPERTY[s]}`),
    `${name}__credential`,
    `${name}__clientId`,
  ];
}

/** Every app setting infra/main.bicep must set on the function app. */
export function settingsSetInAzure(): string[] {
  return (Object.keys(SETTINGS) as SettingName[]).flatMap(azureSettingNames);
}

/** The declaration an app setting name falls under (exact, a connection's identity property, or a family). */
export function declarationOf(
  settingName: string,
): { kind: 'setting'; name: SettingName } | { kind: 'family'; family: SettingFamily } | undefined {
  if (Object.hasOwn(SETTINGS, settingName)) return { kind: 'setting', name: settingName as SettingName };
  const property = splitConnectionProperty(settingName);
  if (property && CONNECTION_PROPERTIES.some((p) => p.toLowerCase() === property.property.toLowerCase())) {
    return { kind: 'setting', name: property.connection };
  }
  const family = SETTING_FAMILIES.find((f) => f.pattern.test(settingName));
  return family ? { kind: 'family', family } : undefined;
}

function splitConnectionProperty(
  key: string,
): { connection: ConnectionSettingName; property: string } | undefined {
  for (const connection of CONNECTION_SETTINGS) {
    for (const separator of ['__', ':']) {
      const prefix = `${connection}${separator}`;
      if (key.length > prefix.length && key.toLowerCase().startsWith(prefix.toLowerCase())) {
        return { connection, property: key.slice(prefix.length) };
      }
    }
  }
  return undefined;
}

// ── validation ──────────────────────────────────────────────────────────────────────────────────

export type Env = Record<string, string | undefined>;

interface Problem {
  setting: string;
  problem: string;
  fix: string;
}

export interface LoadedSettings {
  values: SettingValues;
  /** Each storage connection as configured, or undefined when neither form is set. */
  connections: Record<ConnectionSettingName, StorageConnection | undefined>;
}

function zodProblem(setting: string, error: z.ZodError, fix: string, present: boolean): Problem {
  const issue = error.issues[0];
  const message = !present ? 'is not set' : (issue?.message ?? 'is invalid');
  return { setting, problem: message, fix };
}

function parseOne<K extends SettingName>(
  name: K,
  env: Env,
  problems: Problem[],
): SettingValues[K] | undefined {
  const declaration: SettingDeclaration = SETTINGS[name];
  const raw = env[name];
  const result = declaration.schema.safeParse(raw);
  if (result.success) return result.data as SettingValues[K];
  problems.push(zodProblem(name, result.error, declaration.fix, raw !== undefined));
  return undefined;
}

const GUID = z.guid();

function serviceOf(property: ConnectionProperty): StorageService {
  if (property === 'queueServiceUri') return 'queue';
  if (property === 'tableServiceUri') return 'table';
  return 'blob';
}
const SERVICE_URL = z.url({ protocol: /^https?$/ });

function parseConnection(
  name: ConnectionSettingName,
  env: Env,
  connectionString: string | undefined,
  problems: Problem[],
): StorageConnection | undefined {
  const declaration: SettingDeclaration = SETTINGS[name];
  const properties = new Map<ConnectionProperty, { key: string; value: string }>();
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const split = splitConnectionProperty(key);
    if (!split || split.connection !== name) continue;
    const known = CONNECTION_PROPERTIES.find((p) => p.toLowerCase() === split.property.toLowerCase());
    if (!known) {
      problems.push({
        setting: key,
        problem: `is not a property of an identity-based connection (Azure reads ${CONNECTION_PROPERTIES.join(', ')})`,
        fix: `Rename it to ${name}__<property> with one of those properties, or remove it.`,
      });
      continue;
    }
    properties.set(known, { key, value });
  }
  if (connectionString !== undefined) {
    return { kind: 'connectionString', setting: name, connectionString };
  }
  if (properties.size === 0) return undefined;

  const before = problems.length;
  const value = (p: ConnectionProperty): string | undefined => properties.get(p)?.value.trim() || undefined;
  const keyOf = (p: ConnectionProperty): string => properties.get(p)?.key ?? `${name}__${p}`;
  for (const [property, { key, value: v }] of properties) {
    if (v.trim() === '') {
      problems.push({ setting: key, problem: 'is empty', fix: `Set a value, or remove ${key}.` });
      continue;
    }
    if (property.endsWith('Uri') && !SERVICE_URL.safeParse(v.trim()).success) {
      problems.push({
        setting: key,
        problem: 'must be an https URL',
        fix: `Set the service endpoint, e.g. https://<account>.${serviceOf(property)}.${STORAGE_ENDPOINT_SUFFIX}.`,
      });
    }
  }
  const accountName = value('accountName');
  if (accountName && !/^[a-z0-9]{3,24}$/.test(accountName)) {
    problems.push({
      setting: keyOf('accountName'),
      problem: 'must be a storage account name (3–24 lower-case letters and digits)',
      fix: 'Set the storage account name, not its URL or connection string.',
    });
  }
  const credential = value('credential');
  if (credential && credential.toLowerCase() !== 'managedidentity') {
    problems.push({
      setting: keyOf('credential'),
      problem: 'must be managedidentity',
      fix: `Set ${keyOf('credential')} to managedidentity, or remove it.`,
    });
  }
  const clientId = value('clientId');
  if (clientId && !GUID.safeParse(clientId).success) {
    problems.push({
      setting: keyOf('clientId'),
      problem: 'must be a client id (a GUID)',
      fix: "Set the managed identity's client id (az identity show --query clientId).",
    });
  }
  if (value('clientSecret') && !(value('tenantId') && clientId)) {
    problems.push({
      setting: keyOf('clientSecret'),
      problem: `needs ${name}__tenantId and ${name}__clientId too`,
      fix: `Set ${name}__tenantId and ${name}__clientId, or use a managed identity (${name}__credential: managedidentity).`,
    });
  }
  const uris: Partial<Record<StorageService, string>> = {};
  for (const service of ['blob', 'queue', 'table'] as const) {
    const explicit =
      value(SERVICE_URI_PROPERTY[service]) ?? (service === 'blob' ? value('serviceUri') : undefined);
    const derived = accountName ? `https://${accountName}.${service}.${STORAGE_ENDPOINT_SUFFIX}` : undefined;
    const uri = explicit ?? derived;
    if (uri) uris[service] = uri;
    else if (declaration.connection?.services.includes(service)) {
      problems.push({
        setting: `${name}__${SERVICE_URI_PROPERTY[service]}`,
        problem: `is not set, and tidemark uses ${service} storage in this account`,
        fix: `Set ${name}__accountName, or ${name}__${SERVICE_URI_PROPERTY[service]} (https://<account>.${service}.${STORAGE_ENDPOINT_SUFFIX}).`,
      });
    }
  }
  if (problems.length > before) return undefined;
  return {
    kind: 'identity',
    setting: name,
    ...(uris.blob ? { blobServiceUri: uris.blob } : {}),
    ...(uris.queue ? { queueServiceUri: uris.queue } : {}),
    ...(uris.table ? { tableServiceUri: uris.table } : {}),
    ...(credential ? { credential: 'managedidentity' as const } : {}),
    ...(clientId ? { clientId } : {}),
    ...(value('tenantId') ? { tenantId: value('tenantId') } : {}),
    ...(value('clientSecret') ? { clientSecret: value('clientSecret') } : {}),
  };
}

function invalid(problems: readonly Problem[]): TidemarkError {
  const names = [...new Set(problems.map((p) => p.setting))];
  return new TidemarkError(
    'InvalidConfig',
    `tidemark's app settings are invalid: ${problems.map((p) => `${p.setting}: ${p.problem}`).join('; ')}.`,
    {
      hint:
        problems.map((p) => `${p.setting}: ${p.fix}`).join(' ') +
        ' Set app settings in the function app (Azure) or local.settings.json (locally); docs/settings.md lists them all.',
      details: { settings: names, problems: problems.map((p) => ({ ...p })) },
    },
  );
}

/**
 * Validates every declared setting in `env` and returns them parsed, or throws one InvalidConfig
 * naming each missing or malformed setting and how to fix it.
 */
export function loadSettings(env: Env = process.env): LoadedSettings {
  const problems: Problem[] = [];
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    values[name] = parseOne(name, env, problems);
  }
  const connections = {} as Record<ConnectionSettingName, StorageConnection | undefined>;
  for (const name of CONNECTION_SETTINGS) {
    connections[name] = parseConnection(name, env, values[name] as string | undefined, problems);
  }
  for (const [key, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const family = SETTING_FAMILIES.find((f) => f.pattern.test(key));
    if (!family) continue;
    const result = family.schema.safeParse(raw);
    if (!result.success) problems.push(zodProblem(key, result.error, family.fix, true));
  }
  if (values.TIDEMARK_FABRIC === 'arm' && env.AZURE_SUBSCRIPTION_ID === undefined) {
    problems.push({
      setting: 'AZURE_SUBSCRIPTION_ID',
      problem: 'is not set, and TIDEMARK_FABRIC is arm',
      fix: 'Set AZURE_SUBSCRIPTION_ID to the subscription whose VMs tidemark protects, or TIDEMARK_FABRIC to local.',
    });
  }
  if (problems.length > 0) throw invalid(problems);
  return { values: values as SettingValues, connections };
}

/** One setting, validated alone (InvalidConfig naming it and the fix when it is bad). */
export function readSetting<K extends SettingName>(name: K, env: Env = process.env): SettingValues[K] {
  const problems: Problem[] = [];
  const value = parseOne(name, env, problems);
  if (problems.length > 0) throw invalid(problems);
  return value as SettingValues[K];
}

/** local.settings.json.example's `Values`, from the declarations' `example`. */
export function exampleLocalSettings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const example = (SETTINGS[name] as SettingDeclaration).example;
    if (example !== undefined) out[name] = example;
  }
  return out;
}

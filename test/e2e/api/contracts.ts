/**
 * The contract of every HTTP function of the app, for test/e2e/api/contract.test.ts: its method,
 * route and auth level (checked against the host's own function list, so a new route without an
 * entry here fails), its path parameters, and for routes that take a body or a query, what a valid
 * one looks like and, per field, values that are wrong by construction. Wrong values never make a
 * valid request: each arbitrary is filtered by the same rules (or schemas) the route applies, so the
 * fuzz can aim at real VMs and items and still must change nothing.
 */
import fc from 'fast-check';

import { nameMessage, type FabricNameKind } from '../../../shared/fabric/names';
import { putVmBodySchema } from '../../../shared/fabric/vmRequest';
import { JOB_STATES } from '../../../shared/jobs/types';
import { parseChoiceText, recoveryPointChoiceSchema } from '../../../shared/recoveryPoints/choice';
import { policySchema } from '../../../shared/recoveryPoints/policy';

export type ParamKind = 'resourceGroup' | 'virtualMachine' | 'jobId' | 'portalPath';

/** A path into a JSON body: `['policy', 'retentionHours']`, `['disks', 0, 'name']`. */
export type FieldPath = readonly (string | number)[];

export interface BodyContract {
  /** A valid body: the base that wrong fields and extra fields are put into. */
  good: Record<string, unknown>;
  /** Per field, values that make the body invalid whatever the other fields are. */
  wrong: { path: FieldPath; values: fc.Arbitrary<unknown> }[];
  /** Unknown fields are refused (zod strictObject); else they are ignored (the alert schema). */
  strict: boolean;
  /** An empty body means `{}`; else it is refused. */
  emptyIsObject: boolean;
  /** Fields whose valid values are short: a huge string there is refused. */
  bounded: FieldPath[];
  /** Whether a whole value is certainly invalid, for arbitrary JSON (sufficient, not necessary). */
  certainlyInvalid(value: unknown): boolean;
  /** The route's own schema, where it is exported: every generated body is checked against it too. */
  valid?: (value: unknown) => boolean;
}

export interface QueryContract {
  /** Per parameter, values the route refuses (400 naming the parameter). */
  bad: Record<string, fc.Arbitrary<string>>;
}

export interface RouteContract {
  methods: readonly string[];
  /** The route as the function registers it, without the `api/` prefix. */
  route: string;
  authLevel: 'function' | 'anonymous';
  params: Record<string, ParamKind>;
  body?: BodyContract;
  query?: QueryContract;
  /** The VM a route on `{rg}/{vm}` is fuzzed against: the protected one or the unprotected one. */
  target?: 'protected' | 'unprotected';
}

// ------------------------------------------------------------------------------------- arbitraries

const anyJson = fc.jsonValue({ maxDepth: 3 });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const notBoolean = anyJson.filter((v) => typeof v !== 'boolean');
const notString = anyJson.filter((v) => typeof v !== 'string');
const notRecord = anyJson.filter((v) => !isRecord(v));

/** Strings that break `kind`'s naming rule (wrong characters, length, ends), and non-strings. */
export function badName(kind: FabricNameKind): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      notString,
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('', '-a', 'a.', 'a b', 'a/b', '..', 'a'.repeat(100), '_x', 'é"x'),
    )
    .filter((v) => typeof v !== 'string' || nameMessage(kind, v) !== undefined);
}

/** Values the recovery-point choice refuses. */
const badChoice = fc
  .oneof(
    anyJson,
    fc.string({ maxLength: 30 }),
    fc.constantFrom('Latest', 'latest ', 'rp-1-1', 'newest', ''),
    fc.record({ id: fc.oneof(fc.string({ maxLength: 20 }), anyJson) }),
    fc.record({ time: fc.oneof(fc.string({ maxLength: 30 }), anyJson) }),
    fc.record({ id: fc.constant('rp-1-1'), extra: anyJson }),
  )
  .filter((v) => !recoveryPointChoiceSchema.safeParse(v).success);

const badPolicy = fc
  .oneof(
    anyJson,
    fc.record(
      {
        retentionHours: fc.oneof(fc.integer({ min: -100, max: 1000 }), fc.double(), anyJson),
        appConsistentFrequencyMinutes: fc.oneof(fc.integer({ min: -10, max: 2000 }), anyJson),
        extra: anyJson,
      },
      { requiredKeys: [] },
    ),
  )
  .filter((v) => !policySchema.strict().safeParse(v).success);

/** Arbitrary JSON that is not an object with only `fields` as keys (those could be valid). */
function notOnlyKnownKeys(fields: readonly string[]): (value: unknown) => boolean {
  return (value) => !isRecord(value) || Object.keys(value).some((k) => !fields.includes(k));
}

// -------------------------------------------------------------------------------------- the bodies

const emptyBody = (): BodyContract => ({
  good: {},
  wrong: [],
  strict: true,
  emptyIsObject: true,
  bounded: [],
  certainlyInvalid: notOnlyKnownKeys([]),
});

const putVmBody: BodyContract = {
  good: {
    region: 'eastus',
    vnet: 'contract-vnet',
    subnet: 'default',
    size: 'Standard_B1s',
    disks: [{ name: 'os', sizeGiB: 0.0078125 }],
  },
  wrong: [
    { path: ['region'], values: fc.oneof(notString, fc.constant('')) },
    { path: ['vnet'], values: badName('virtualNetwork') },
    { path: ['subnet'], values: badName('subnet') },
    { path: ['size'], values: notString },
    { path: ['availabilitySet'], values: badName('availabilitySet') },
    {
      path: ['disks'],
      values: fc
        .oneof(
          anyJson,
          fc.constant([]),
          fc.array(
            fc.record({ name: fc.oneof(fc.string(), anyJson), sizeGiB: fc.oneof(fc.double(), anyJson) }),
          ),
        )
        .filter(
          (disks) =>
            !putVmBodySchema.safeParse({ ...putVmBody.good, disks }).success &&
            !putVmBodySchema.safeParse({ region: 'eastus', vnet: 'v1', subnet: 's', size: 'x', disks })
              .success,
        ),
    },
    { path: ['disks', 0, 'name'], values: badName('disk') },
    {
      path: ['disks', 0, 'sizeGiB'],
      values: fc
        .oneof(notString, fc.double(), fc.integer({ min: -5, max: 10_000 }))
        .filter(
          (sizeGiB) =>
            !putVmBodySchema.safeParse({ ...putVmBody.good, disks: [{ name: 'os', sizeGiB }] }).success,
        ),
    },
    {
      path: ['powerState'],
      values: fc.oneof(notString, fc.constantFrom('running', 'stopped', '', 'Started')),
    },
  ],
  strict: true,
  emptyIsObject: false,
  bounded: [['vnet'], ['subnet'], ['availabilitySet'], ['disks', 0, 'name'], ['powerState']],
  certainlyInvalid: (v) => !putVmBodySchema.safeParse(v).success,
  valid: (v) => putVmBodySchema.safeParse(v).success,
};

const ENABLE_FIELDS = ['targetResourceGroup', 'targetVnet', 'targetAvailabilitySet', 'policy'];

const enableBody: BodyContract = {
  good: {
    targetResourceGroup: 'contract-rg-asr',
    targetVnet: 'contract-vnet-asr',
    targetAvailabilitySet: 'contract-avset-asr',
    policy: { retentionHours: 2, appConsistentFrequencyMinutes: 0 },
  },
  wrong: [
    { path: ['targetResourceGroup'], values: badName('resourceGroup') },
    { path: ['targetVnet'], values: badName('virtualNetwork') },
    { path: ['targetAvailabilitySet'], values: badName('availabilitySet') },
    { path: ['policy'], values: badPolicy },
    {
      path: ['policy', 'retentionHours'],
      values: fc
        .oneof(notString, fc.integer({ min: -100, max: 10_000 }), fc.double())
        .filter((h) => !policySchema.shape.retentionHours.safeParse(h).success),
    },
  ],
  strict: true,
  emptyIsObject: true,
  bounded: [['targetResourceGroup'], ['targetVnet'], ['targetAvailabilitySet']],
  certainlyInvalid: notOnlyKnownKeys(ENABLE_FIELDS),
};

const failoverBody: BodyContract = {
  good: { recoveryPoint: 'latest', shutdownSource: true },
  wrong: [
    { path: ['recoveryPoint'], values: badChoice },
    { path: ['shutdownSource'], values: notBoolean },
  ],
  strict: true,
  emptyIsObject: true,
  bounded: [['recoveryPoint']],
  certainlyInvalid: notOnlyKnownKeys(['recoveryPoint', 'shutdownSource']),
};

const testFailoverBody: BodyContract = {
  good: { recoveryPoint: 'latestProcessed', network: 'contract-test-vnet' },
  wrong: [
    { path: ['recoveryPoint'], values: badChoice },
    { path: ['network'], values: badName('virtualNetwork') },
  ],
  strict: true,
  emptyIsObject: true,
  bounded: [['recoveryPoint'], ['network']],
  certainlyInvalid: notOnlyKnownKeys(['recoveryPoint', 'network']),
};

const COMMON_SCHEMA = 'azureMonitorCommonAlertSchema';

/** A fired alert on a VM that does not exist: valid, and it matches no protected item. */
export function goodAlert(): Record<string, unknown> {
  const target =
    '/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/contract-nowhere-rg/providers/microsoft.compute/virtualmachines/ghost';
  return {
    schemaId: COMMON_SCHEMA,
    data: {
      essentials: {
        alertId:
          '/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.AlertsManagement/alerts/contract-0001',
        alertRule: 'contract',
        severity: 'Sev0',
        signalType: 'Metric',
        monitorCondition: 'Fired',
        monitoringService: 'Platform',
        alertTargetIDs: [target],
        configurationItems: ['ghost'],
        firedDateTime: '2026-03-02T09:14:07.1839221Z',
      },
      alertContext: {},
    },
  };
}

const alertBody: BodyContract = {
  good: goodAlert(),
  wrong: [
    {
      path: ['schemaId'],
      values: anyJson.filter(
        (v) => !(typeof v === 'string' && v.toLowerCase() === COMMON_SCHEMA.toLowerCase()),
      ),
    },
    { path: ['data'], values: notRecord },
    { path: ['data', 'essentials'], values: notRecord },
    {
      path: ['data', 'essentials', 'alertId'],
      values: fc.oneof(notString, fc.constantFrom('', '   ', '\t')),
    },
    {
      path: ['data', 'essentials', 'monitorCondition'],
      values: anyJson.filter((v) => v !== 'Fired' && v !== 'Resolved'),
    },
    { path: ['data', 'essentials', 'monitoringService'], values: fc.oneof(notString, fc.constant('  ')) },
    {
      path: ['data', 'essentials', 'alertTargetIDs'],
      values: fc.oneof(
        anyJson.filter((v) => !Array.isArray(v) && v !== null),
        fc.array(
          notString.filter((v) => v !== null),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    },
  ],
  strict: false,
  emptyIsObject: false,
  bounded: [['schemaId'], ['data', 'essentials', 'monitorCondition']],
  certainlyInvalid: (v) =>
    !isRecord(v) ||
    !(typeof v.schemaId === 'string' && v.schemaId.toLowerCase() === COMMON_SCHEMA.toLowerCase()) ||
    !isRecord(v.data) ||
    !isRecord(v.data.essentials),
};

// ------------------------------------------------------------------------------------- the queries

/** `top` values outside 1..1000 or not plainly written. */
const badTop = fc
  .oneof(
    fc.string({ maxLength: 8 }),
    fc.integer({ min: -10_000, max: 100_000 }).map(String),
    fc.constantFrom('0', '1001', '01', '+5', '1e2', '5.0', ' 5', '0x10', '', '99999999999999999999', '1,2'),
  )
  .filter((t) => !(/^[1-9][0-9]{0,3}$/.test(t) && Number(t) <= 1000));

/** Tokens this API never gave out: random text, base64url of other JSON, truncated ones. */
const badToken = fc
  .oneof(
    fc.string({ maxLength: 60 }),
    anyJson.map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    fc.record({ after: anyJson }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    fc.constantFrom('', 'e30', 'eyJhZnRlciI6bnVsbH0', 'eyJhZnRlciI6W119', '%%%', 'a'.repeat(3000)),
  )
  .filter((t) => {
    // Nothing shaped like a cursor: {after: "rp-…"} (recovery points), {after: {startedAt, id}}
    // (jobs) or {after: {region, resourceGroup, name}} (VMs).
    try {
      const v = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as unknown;
      return !(
        isRecord(v) &&
        (typeof v.after === 'string' || (isRecord(v.after) && Object.keys(v.after).length >= 2))
      );
    } catch {
      return true;
    }
  });

const badRegion = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom('mars', 'east us', 'eastus2', 'a'.repeat(200)),
  )
  .filter((r) => r.trim() !== '' && !['eastus', 'westus'].includes(r.trim().toLowerCase()));

const badState = fc
  .oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('inprogress', 'Running', 'Completed', 'Succeeded ', ''),
  )
  .filter((s) => !(JOB_STATES as readonly string[]).includes(s));

const badVmFilter = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('rg', 'rg/', '/vm', 'rg/vm/x', 'rg/-vm', 'r g/vm', '', 'rg//vm'),
  )
  .filter((text) => {
    const [rg = '', vm, ...rest] = text.split('/');
    return (
      vm === undefined ||
      rest.length > 0 ||
      nameMessage('resourceGroup', rg) !== undefined ||
      nameMessage('virtualMachine', vm) !== undefined
    );
  });

/** Alert hook query values it refuses (checked before the body). */
const badAlertRecoveryPoint = fc
  .oneof(fc.string({ maxLength: 30 }), fc.constantFrom('Latest', 'rp-x', 'yesterday', '2026-13-01'))
  .filter((t) => t.trim() !== '' && parseChoiceText(t.trim()) === undefined);

const badDryRun = fc
  .oneof(fc.string({ maxLength: 10 }), fc.constantFrom('yes', '1', '0', 'TRUE1', 'no'))
  .filter((t) => !['true', 'false', ''].includes(t.trim().toLowerCase()));

// ----------------------------------------------------------------------------------- the contracts

const VM = { rg: 'resourceGroup', vm: 'virtualMachine' } as const satisfies Record<string, ParamKind>;

/** Every HTTP function of the app, by function name. */
export const CONTRACTS: Readonly<Record<string, RouteContract>> = {
  health: { methods: ['GET'], route: 'health', authLevel: 'anonymous', params: {} },
  portal: {
    methods: ['GET', 'HEAD'],
    route: 'portal/{*path}',
    authLevel: 'anonymous',
    params: { path: 'portalPath' },
  },
  listVms: {
    methods: ['GET'],
    route: 'vms',
    authLevel: 'function',
    params: {},
    query: { bad: { top: badTop, continuationToken: badToken, region: badRegion } },
  },
  getVm: { methods: ['GET'], route: 'vms/{rg}/{vm}', authLevel: 'function', params: VM, target: 'protected' },
  putVm: {
    methods: ['PUT'],
    route: 'vms/{rg}/{vm}',
    authLevel: 'function',
    params: VM,
    body: putVmBody,
    target: 'unprotected',
  },
  listRecoveryPoints: {
    methods: ['GET'],
    route: 'vms/{rg}/{vm}/recovery-points',
    authLevel: 'function',
    params: VM,
    query: { bad: { top: badTop, continuationToken: badToken } },
    target: 'protected',
  },
  enableReplicationHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/enable-replication',
    authLevel: 'function',
    params: VM,
    body: enableBody,
    target: 'unprotected',
  },
  disableReplicationHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/disable-replication',
    authLevel: 'function',
    params: VM,
    body: emptyBody(),
    target: 'protected',
  },
  failoverHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/failover',
    authLevel: 'function',
    params: VM,
    body: failoverBody,
    target: 'protected',
  },
  commitFailoverHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/commit-failover',
    authLevel: 'function',
    params: VM,
    body: emptyBody(),
    target: 'protected',
  },
  testFailoverHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/test-failover',
    authLevel: 'function',
    params: VM,
    body: testFailoverBody,
    target: 'protected',
  },
  testFailoverCleanupHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/test-failover-cleanup',
    authLevel: 'function',
    params: VM,
    body: emptyBody(),
    target: 'protected',
  },
  reprotectHttp: {
    methods: ['POST'],
    route: 'vms/{rg}/{vm}/reprotect',
    authLevel: 'function',
    params: VM,
    body: emptyBody(),
    target: 'protected',
  },
  listJobs: {
    methods: ['GET'],
    route: 'jobs',
    authLevel: 'function',
    params: {},
    query: { bad: { top: badTop, continuationToken: badToken, state: badState, vm: badVmFilter } },
  },
  getJob: { methods: ['GET'], route: 'jobs/{id}', authLevel: 'function', params: { id: 'jobId' } },
  alerts: {
    methods: ['POST'],
    route: 'alerts',
    authLevel: 'function',
    params: {},
    body: alertBody,
    query: { bad: { recoveryPoint: badAlertRecoveryPoint, dryRun: badDryRun } },
  },
};

// -------------------------------------------------------------------------------- path segments

/**
 * Bad path segments for a parameter of `kind`, as they go on the wire (percent-encoded as needed),
 * with the value the route sees. `exclude` are names that exist (compared as Azure does, ignoring
 * case): a segment that names one is not generated.
 */
export interface Segment {
  wire: string;
  /** What the route gets as the parameter (the host decodes each segment). */
  value: string;
}

const encode = (value: string): Segment => ({ wire: encodeURIComponent(value), value });

/** `.` and `..`: URL parsers resolve them (on both ends), so they are tested on their own. */
export function isDotSegment(value: string): boolean {
  return value === '.' || value === '..';
}

export function badSegments(kind: ParamKind, exclude: readonly string[]): fc.Arbitrary<Segment> {
  // Azure compares resource names ignoring case; the portal's file names are exact.
  const key = (name: string): string => (kind === 'portalPath' ? name : name.toLowerCase());
  const taken = new Set(exclude.map(key));
  const free = (s: Segment): boolean => !taken.has(key(s.value)) && s.value !== '' && !isDotSegment(s.value);
  const long = fc.integer({ min: 91, max: 2500 }).map((n) => encode('a'.repeat(n)));
  const longUnicode = fc.integer({ min: 91, max: 600 }).map((n) => encode('é'.repeat(n)));
  const unicode = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encode);
  const ascii = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }).map(encode);
  const slashes = fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.stringMatching(/^[a-z0-9.]{0,8}$/),
      fc.constantFrom('%2F', '%2f', '%5C'),
    )
    .map(([a, b, sep]) => ({ wire: `${a}${sep}${b}`, value: `${a}${sep === '%5C' ? '\\' : '/'}${b}` }));
  const valid = (name: FabricNameKind): fc.Arbitrary<Segment> =>
    fc
      .stringMatching(/^[a-z0-9][a-z0-9_-]{0,30}[a-z0-9]$/)
      .filter((s) => nameMessage(name, s) === undefined)
      .map(encode);
  const raw = fc.constantFrom<Segment>(
    { wire: '%zz', value: '%zz' },
    { wire: '%', value: '%' },
    { wire: '%E0%A4%A', value: '%E0%A4%A' },
    { wire: '%00', value: '\u0000' },
    { wire: '%0A', value: '\n' },
    { wire: 'a%20b', value: 'a b' },
    { wire: '%3F', value: '?' },
    { wire: '%23', value: '#' },
    { wire: 'a%2Fb', value: 'a/b' },
    { wire: '%2F', value: '/' },
    { wire: '...', value: '...' },
    { wire: '%C0%AE%C0%AE', value: '%C0%AE%C0%AE' },
  );
  switch (kind) {
    case 'resourceGroup':
      return fc.oneof(long, longUnicode, unicode, ascii, slashes, raw, valid('resourceGroup')).filter(free);
    case 'virtualMachine':
      return fc.oneof(long, unicode, ascii, slashes, raw, valid('virtualMachine')).filter(free);
    case 'jobId':
      return fc
        .oneof(
          long,
          unicode,
          ascii,
          slashes,
          raw,
          valid('resourceGroup').map((s) => encode(`enable-${s.value}`)),
        )
        .filter(free);
    case 'portalPath':
      return fc
        .oneof(
          unicode,
          ascii,
          slashes,
          raw,
          fc.constantFrom(
            encode('index.htm'),
            encode('INDEX.HTML'),
            encode('.env'),
            encode('lib/api.d.ts'),
            { wire: 'lib%2F..%2F..%2Fpackage.json', value: 'lib/../../package.json' },
            { wire: '..%2Fhost.json', value: '../host.json' },
            { wire: '%2E%2E%2Fhost.json', value: '../host.json' },
            encode('app.js.map'),
          ),
        )
        .filter(free);
  }
}

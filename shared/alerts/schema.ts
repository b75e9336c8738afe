/**
 * Azure Monitor's common alert schema (DESIGN §2.5): `{schemaId: "azureMonitorCommonAlertSchema",
 * data: {essentials, alertContext, customProperties?}}`. Lenient on fields tidemark doesn't use (Azure
 * adds some now and then), strict on those it does: the alert id, the monitor condition, the
 * monitoring service, the targets, and for Service Health and Resource Health the parts of the alert
 * context that say which regions are hit and whether the event is over.
 */
import { z } from 'zod';

import { validate } from '../http/body';
import { TidemarkError } from '../errors';

export const COMMON_SCHEMA_ID = 'azureMonitorCommonAlertSchema';

const ENABLE_COMMON_SCHEMA =
  'Turn on "Enable the common alert schema" for the webhook action of the action group ' +
  '(ARM/Bicep: webhookReceivers[].useCommonAlertSchema: true; az monitor action-group update ' +
  '--add-action webhook <name> <url> usecommonalertschema). See docs/alerts.md.';

const essentialsSchema = z.looseObject({
  alertId: z.string().trim().min(1, 'must be the alert id (a non-empty string)'),
  alertRule: z.string().nullish(),
  severity: z.string().nullish(),
  signalType: z.string().nullish(),
  monitorCondition: z.enum(['Fired', 'Resolved'], { error: () => 'must be "Fired" or "Resolved"' }),
  monitoringService: z.string().trim().min(1, 'must name the monitoring service'),
  alertTargetIDs: z.array(z.string(), { error: () => 'must be an array of resource ids' }).nullish(),
  configurationItems: z.array(z.string(), { error: () => 'must be an array of strings' }).nullish(),
  firedDateTime: z.string().nullish(),
  resolvedDateTime: z.string().nullish(),
});

const alertSchema = z.looseObject({
  schemaId: z.string(),
  data: z.looseObject({
    essentials: essentialsSchema,
    alertContext: z.unknown(),
  }),
});

const impactedRegionSchema = z.looseObject({ RegionName: z.string() });
const impactedServiceSchema = z.looseObject({
  ServiceName: z.string().nullish(),
  ImpactedRegions: z.array(impactedRegionSchema).nullish(),
});

/** `properties.impactedServices`: a JSON string of `[{ServiceName, ImpactedRegions: [{RegionName}]}]` (an array is taken as well). */
const impactedServicesSchema = z.union([
  z.array(impactedServiceSchema),
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a JSON string of [{ServiceName, ImpactedRegions}]',
        });
        return z.NEVER;
      }
    })
    .pipe(z.array(impactedServiceSchema)),
]);

/** The alert context of a Service Health alert, as far as tidemark reads it. */
const serviceHealthContextSchema = z.looseObject({
  status: z.string().nullish(),
  properties: z
    .looseObject({
      title: z.string().nullish(),
      region: z.string().nullish(),
      stage: z.string().nullish(),
      incidentType: z.string().nullish(),
      impactedServices: impactedServicesSchema.nullish(),
    })
    .nullish(),
});

/** The alert context of a Resource Health alert, as far as tidemark reads it. */
const resourceHealthContextSchema = z.looseObject({
  status: z.string().nullish(),
  properties: z
    .looseObject({
      title: z.string().nullish(),
      currentHealthStatus: z.string().nullish(),
      cause: z.string().nullish(),
    })
    .nullish(),
});

export type MonitorKind = 'ServiceHealth' | 'ResourceHealth' | 'Other';

/** The alert as tidemark uses it. */
export interface CommonAlert {
  alertId: string;
  alertRule?: string;
  severity?: string;
  signalType?: string;
  monitorCondition: 'Fired' | 'Resolved';
  /** As Azure names it: `Platform`, `Log Alerts V2`, `Activity Log - Administrative`, `ServiceHealth`, ... */
  monitoringService: string;
  kind: MonitorKind;
  alertTargetIDs: string[];
  configurationItems: string[];
  firedDateTime?: string;
  /** Service Health: the regions named (as written, e.g. "East US"). */
  regionNames: string[];
  /** Service Health: `properties.stage` (Active, Resolved, RCA, ...); Resource Health: `properties.currentHealthStatus`. */
  stage?: string;
  /** Activity-log status (Active, Resolved, ...). */
  status?: string;
  /** Resource Health: why the resource is unhealthy (PlatformInitiated, UserInitiated, Unknown). */
  cause?: string;
  title?: string;
}

export function monitorKind(monitoringService: string): MonitorKind {
  const key = monitoringService.toLowerCase().replace(/[^a-z]/g, '');
  if (key === 'servicehealth') return 'ServiceHealth';
  if (key === 'resourcehealth') return 'ResourceHealth';
  return 'Other';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 400 for a payload that is not the common alert schema at all, saying how to turn it on. */
function checkCommonSchema(body: unknown): void {
  if (!isRecord(body)) {
    throw new TidemarkError('InvalidRequest', 'The alert must be a JSON object in the common alert schema.', {
      hint: ENABLE_COMMON_SCHEMA,
      details: { errors: [{ path: '(body)', message: 'must be an object' }] },
    });
  }
  const schemaId = body.schemaId;
  if (typeof schemaId === 'string' && schemaId.toLowerCase() === COMMON_SCHEMA_ID.toLowerCase()) return;
  const what =
    typeof schemaId === 'string' ? `its schemaId is ${JSON.stringify(schemaId)}` : 'it has no schemaId';
  throw new TidemarkError(
    'InvalidRequest',
    `The alert is not in Azure Monitor's common alert schema (${what}; expected "${COMMON_SCHEMA_ID}").`,
    {
      hint: ENABLE_COMMON_SCHEMA,
      // Only a string is echoed back: any other value is the sender's and may be anything (huge, deep).
      details: {
        errors: [{ path: 'schemaId', message: `must be "${COMMON_SCHEMA_ID}"` }],
        ...(typeof schemaId === 'string' ? { schemaId } : {}),
      },
    },
  );
}

function contextFields(kind: MonitorKind, alertContext: unknown): Partial<CommonAlert> {
  if (kind === 'ServiceHealth') {
    const ctx = validate(
      z.object({ data: z.object({ alertContext: serviceHealthContextSchema }) }),
      { data: { alertContext } },
      'alert',
    ).data.alertContext;
    const p = ctx.properties;
    const named = (p?.impactedServices ?? []).flatMap((s) =>
      (s.ImpactedRegions ?? []).map((r) => r.RegionName),
    );
    const regionNames = named.length > 0 ? named : p?.region ? [p.region] : [];
    return {
      regionNames,
      stage: p?.stage ?? undefined,
      status: ctx.status ?? undefined,
      title: p?.title ?? undefined,
    };
  }
  if (kind === 'ResourceHealth') {
    const ctx = validate(
      z.object({ data: z.object({ alertContext: resourceHealthContextSchema }) }),
      { data: { alertContext } },
      'alert',
    ).data.alertContext;
    return {
      stage: ctx.properties?.currentHealthStatus ?? undefined,
      status: ctx.status ?? undefined,
      cause: ctx.properties?.cause ?? undefined,
      title: ctx.properties?.title ?? undefined,
    };
  }
  return {};
}

/** The alert of a webhook body; InvalidRequest (400) saying what is wrong otherwise. */
export function parseCommonAlert(body: unknown): CommonAlert {
  checkCommonSchema(body);
  const { essentials: e, alertContext } = validate(alertSchema, body, 'alert').data;
  const kind = monitorKind(e.monitoringService);
  return {
    alertId: e.alertId,
    ...(e.alertRule ? { alertRule: e.alertRule } : {}),
    ...(e.severity ? { severity: e.severity } : {}),
    ...(e.signalType ? { signalType: e.signalType } : {}),
    monitorCondition: e.monitorCondition,
    monitoringService: e.monitoringService,
    kind,
    alertTargetIDs: e.alertTargetIDs ?? [],
    configurationItems: e.configurationItems ?? [],
    ...(e.firedDateTime ? { firedDateTime: e.firedDateTime } : {}),
    regionNames: [],
    ...contextFields(kind, alertContext),
  };
}

import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { whyIgnored } from '../../../shared/alerts/ignore';
import { monitorKind, parseCommonAlert } from '../../../shared/alerts/schema';
import { isTidemarkError, type TidemarkError } from '../../../shared/errors';
import { problemFor } from '../../../shared/http/problem';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/alerts', name), 'utf8')) as Record<
    string,
    unknown
  >;

function rejection(body: unknown): TidemarkError {
  try {
    parseCommonAlert(body);
  } catch (err) {
    if (isTidemarkError(err)) return err;
    throw err;
  }
  throw new Error('expected the alert to be refused');
}

describe('parseCommonAlert', () => {
  it('reads a fired metric alert on a VM', () => {
    const alert = parseCommonAlert(fixture('metric-vm-fired.json'));
    expect(alert).toMatchObject({
      alertId: expect.stringMatching(/\/providers\/Microsoft\.AlertsManagement\/alerts\//),
      alertRule: 'web1-heartbeat-lost',
      monitorCondition: 'Fired',
      monitoringService: 'Platform',
      kind: 'Other',
      alertTargetIDs: [expect.stringMatching(/virtualmachines\/web1$/)],
      configurationItems: ['web1'],
      regionNames: [],
    });
    expect(whyIgnored(alert)).toBeUndefined();
  });

  it('reads a resolved metric alert, which is ignored', () => {
    const alert = parseCommonAlert(fixture('metric-vm-resolved.json'));
    expect(alert.monitorCondition).toBe('Resolved');
    expect(whyIgnored(alert)).toMatchObject({ ignored: 'resolved' });
  });

  it('reads a Log Alerts V2 alert with a resource-group target', () => {
    const alert = parseCommonAlert(fixture('log-v2-resource-group.json'));
    expect(alert.monitoringService).toBe('Log Alerts V2');
    expect(alert.alertTargetIDs).toEqual([
      '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/Shop-RG',
    ]);
    expect(alert.configurationItems).toHaveLength(2);
  });

  it('reads an Activity Log - Administrative alert', () => {
    const alert = parseCommonAlert(fixture('activity-log-administrative.json'));
    expect(alert).toMatchObject({ monitoringService: 'Activity Log - Administrative', kind: 'Other' });
    expect(whyIgnored(alert)).toBeUndefined();
  });

  it('reads the regions of a Service Health incident from impactedServices', () => {
    const alert = parseCommonAlert(fixture('service-health-incident.json'));
    expect(alert).toMatchObject({ kind: 'ServiceHealth', stage: 'Active', status: 'Active' });
    expect(alert.regionNames).toEqual(['East US', 'East US', 'Global']);
    expect(whyIgnored(alert)).toBeUndefined();
  });

  it('falls back to properties.region when impactedServices is absent', () => {
    const body = fixture('service-health-incident.json');
    const props = (body.data as { alertContext: { properties: Record<string, unknown> } }).alertContext
      .properties;
    delete props.impactedServices;
    props.region = 'West Europe';
    expect(parseCommonAlert(body).regionNames).toEqual(['West Europe']);
  });

  it('ignores a Service Health update at stage Resolved', () => {
    const body = fixture('service-health-incident.json');
    const ctx = (body.data as { alertContext: { properties: Record<string, unknown>; status: string } })
      .alertContext;
    ctx.properties.stage = 'Resolved';
    ctx.status = 'Resolved';
    expect(whyIgnored(parseCommonAlert(body))).toMatchObject({ ignored: 'resolved' });
  });

  it('reads a Resource Health alert; ignores it when the VM is back or a user stopped it', () => {
    const alert = parseCommonAlert(fixture('resource-health.json'));
    expect(alert).toMatchObject({
      kind: 'ResourceHealth',
      stage: 'Unavailable',
      cause: 'PlatformInitiated',
    });
    expect(whyIgnored(alert)).toBeUndefined();
    expect(whyIgnored({ ...alert, stage: 'Available', status: 'Resolved' })).toMatchObject({
      ignored: 'resolved',
    });
    expect(whyIgnored({ ...alert, cause: 'UserInitiated' })).toMatchObject({ ignored: 'userInitiated' });
  });

  it('is lenient on fields it does not use', () => {
    const body = fixture('metric-vm-fired.json');
    (body.data as Record<string, unknown>).somethingNew = { nested: [1, 2] };
    (body.data as { essentials: Record<string, unknown> }).essentials.newField = 42;
    (body.data as { essentials: Record<string, unknown> }).essentials.configurationItems = null;
    expect(parseCommonAlert(body).configurationItems).toEqual([]);
  });

  it('knows the monitoring services by any spelling', () => {
    expect(monitorKind('ServiceHealth')).toBe('ServiceHealth');
    expect(monitorKind('Service Health')).toBe('ServiceHealth');
    expect(monitorKind('Resource Health')).toBe('ResourceHealth');
    expect(monitorKind('Log Alerts V2')).toBe('Other');
  });
});

describe('parseCommonAlert refuses', () => {
  it('a payload without an alert id, naming the field', () => {
    const e = rejection(fixture('malformed-missing-alert-id.json'));
    expect(e.code).toBe('InvalidRequest');
    expect(problemFor(e).errors?.map((x) => x.path)).toEqual(['data.essentials.alertId']);
  });

  it('a bad monitor condition and targets that are not an array, listing both', () => {
    const e = rejection(fixture('malformed-bad-condition-and-targets.json'));
    const errors = problemFor(e).errors ?? [];
    expect(errors.map((x) => x.path).sort()).toEqual([
      'data.essentials.alertTargetIDs',
      'data.essentials.monitorCondition',
    ]);
    expect(errors.find((x) => x.path.endsWith('monitorCondition'))?.message).toMatch(/Fired.*Resolved/);
  });

  it('a Service Health alert whose impactedServices is not JSON', () => {
    const e = rejection(fixture('malformed-service-health-regions.json'));
    expect(problemFor(e).errors?.map((x) => x.path)).toEqual([
      'data.alertContext.properties.impactedServices',
    ]);
  });

  it('a metric alert in the old (non-common) schema, saying how to enable the common one', () => {
    const e = rejection(fixture('non-common-metric-alert.json'));
    expect(e.message).toMatch(/not in Azure Monitor's common alert schema.*AzureMonitorMetricAlert/);
    expect(e.hint).toMatch(/Enable the common alert schema/);
    expect(e.hint).toMatch(/useCommonAlertSchema/);
    expect(problemFor(e).status).toBe(400);
  });

  it('a classic log alert without a schemaId', () => {
    const e = rejection(fixture('non-common-log-alert.json'));
    expect(e.message).toMatch(/no schemaId/);
    expect(e.hint).toMatch(/common alert schema/);
  });

  it('something that is not an object, or has no data', () => {
    expect(rejection([1, 2]).message).toMatch(/JSON object/);
    expect(rejection('alert').code).toBe('InvalidRequest');
    const e = rejection({ schemaId: 'azureMonitorCommonAlertSchema' });
    expect(problemFor(e).errors?.map((x) => x.path)).toEqual(['data']);
  });
});

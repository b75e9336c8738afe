import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { handleAlert } from '../shared/alerts/handleAlert';
import { parseAlertQuery } from '../shared/alerts/query';
import { parseCommonAlert } from '../shared/alerts/schema';
import { alertHookDeps } from '../shared/alerts/services';
import { ALERT_SECRET_HEADER, checkAlertSecret, readAlertSettings } from '../shared/alerts/settings';
import { contextLogger } from '../shared/functionsLogger';
import { readJsonBody } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';

/**
 * POST /api/alerts: the alert hook (docs/alerts.md). An Azure Monitor alert in the common alert
 * schema starts failover for the protected items it names, once per alert id: 202 {jobs, skipped};
 * 200 when it starts nothing (resolved, a repeat, dryRun, nothing matched); 400 for a payload or
 * query that is wrong; 401 without the alert secret when TIDEMARK_ALERT_SECRET is set.
 */
export async function alertsHttp(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const query = req.query;
  checkAlertSecret(
    readAlertSettings(),
    query.get('secret') ?? req.headers.get(ALERT_SECRET_HEADER) ?? undefined,
  );
  const options = parseAlertQuery(query);
  const alert = parseCommonAlert(await readJsonBody(req, z.unknown()));
  const logger = contextLogger(context);
  const answer = await handleAlert(alert, options, alertHookDeps(df.getClient(context), logger));
  return json(answer.status, answer.body);
}

app.http('alerts', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'alerts',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(alertsHttp),
});

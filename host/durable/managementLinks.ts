/**
 * The URLs the extension hands out (EXT HttpApiHandler GetClientResponseLinks /
 * GetInstanceCreationLinks): the check-status payload for one instance and the durableClient
 * binding's creation and management URL templates (`INSTANCEID` placeholder).
 */

export const WEBHOOK_PATH = '/runtime/webhooks/durabletask';
export const INSTANCE_PLACEHOLDER = 'INSTANCEID';

export interface LinkContext {
  /** e.g. http://127.0.0.1:7071 */
  origin: string;
  hubName: string;
  connectionName: string;
  systemKey: string;
}

export interface ManagementPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  rewindPostUri: string;
  purgeHistoryDeleteUri: string;
  restartPostUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

export function managementPayload(ctx: LinkContext, instanceId: string, encodeId = true): ManagementPayload {
  const base = `${ctx.origin}${WEBHOOK_PATH}`;
  const instance = `${base}/instances/${encodeId ? encodeURIComponent(instanceId) : instanceId}`;
  const query = `taskHub=${encodeURIComponent(ctx.hubName)}&connection=${encodeURIComponent(ctx.connectionName)}&code=${encodeURIComponent(ctx.systemKey)}`;
  return {
    id: instanceId,
    statusQueryGetUri: `${instance}?${query}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
    terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
    rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
    purgeHistoryDeleteUri: `${instance}?${query}`,
    restartPostUri: `${instance}/restart?${query}`,
    suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
    resumePostUri: `${instance}/resume?reason={text}&${query}`,
  };
}

export function creationUrls(ctx: LinkContext): Record<string, string> {
  const prefix = `${ctx.origin}${WEBHOOK_PATH}/orchestrators/{functionName}[/{instanceId}]`;
  const code = `code=${encodeURIComponent(ctx.systemKey)}`;
  return {
    createNewInstancePostUri: `${prefix}?${code}`,
    createAndWaitOnNewInstancePostUri: `${prefix}?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
  };
}

/**
 * App-consistent points. The applier's hook cuts one right after an app-consistent delta (it already
 * holds the lease); the timer asks the agent for a bookmark every app-consistent interval by raising
 * the `appConsistentRequest` counter in the agent's config (the agent polls it and takes a bookmark
 * when it goes up).
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import { agentConfigBlobName, agentConfigBody, parseAgentConfig } from '../agentConfig';
import { ensureError } from '../errors';
import type { AppliedDelta } from '../replication/applier';
import { type CutDeps, cutHeld } from './cut';

/** The applier's onAppConsistent: never fails the apply; the next timer run makes a missed cut good. */
export function appConsistentCutter(deps: CutDeps): (applied: AppliedDelta) => Promise<void> {
  return async ({ item, delta }) => {
    const vm = `${item.resourceGroup}/${item.vm}`;
    try {
      const result = await cutHeld(deps, item, 'AppConsistent');
      deps.logger?.info('App-consistent recovery point', {
        vm,
        sequence: delta.sequence,
        outcome: result.outcome,
      });
    } catch (err) {
      deps.logger?.error('Could not cut an app-consistent recovery point; the next timer run will', {
        vm,
        sequence: delta.sequence,
        error: ensureError(err).message,
      });
    }
  };
}

/** Raises the agent's bookmark counter (ETag-checked); false when there is no valid config or it changed. */
export async function requestAppConsistentBookmark(
  agentConfig: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<boolean> {
  const blob = agentConfig.getBlockBlobClient(agentConfigBlobName(resourceGroup, vm));
  let raw: Record<string, unknown>;
  let etag: string | undefined;
  try {
    etag = (await blob.getProperties()).etag;
    const body = await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } });
    raw = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 404 || err.statusCode === 412)) return false;
    if (err instanceof SyntaxError) return false;
    throw err;
  }
  const parsed = parseAgentConfig(raw);
  if (!parsed.ok) return false;
  const next = { ...raw, appConsistentRequest: (parsed.config.appConsistentRequest ?? 0) + 1 };
  const body = agentConfigBody(next);
  try {
    await blob.upload(body, body.length, {
      conditions: { ifMatch: etag },
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    return true;
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 412 || err.statusCode === 404)) return false;
    throw err;
  }
}

/**
 * What the API's state is, read twice around the bad requests of the contract test and compared:
 * the fabric as the API shows it (every page of GET /api/vms and each VM's detail), the protected
 * items and alert records (their tables, read directly in both regions), every page of the jobs,
 * the recovery points of each protected VM, and the blobs of the agent-config (source) and replicas
 * (target) containers. Fields that replication moves on its own while nothing is asked are left
 * out, by name, wherever they appear: MOVING_FIELDS.
 */
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';

import { CONTAINERS, TABLES } from '../../../shared/storageNames';
import type { TidemarkStack } from '../../helpers/tidemarkHost';

/**
 * Fields that move with time alone: the agent's heartbeat deltas are applied every second (watermark,
 * its source time, the apply time and the apply stats), and RPO and health are computed as of each
 * read or apply. Table rows also carry the ETag and Timestamp of their last write.
 */
export const MOVING_FIELDS = [
  'rpoSeconds',
  'watermark',
  'watermarkTime',
  'lastAppliedAt',
  'lastRecoveryPointAt',
  'stats',
  'health',
  'healthReasons',
] as const;

const ROW_METADATA = ['etag', 'timestamp', 'odata.etag', 'odata.metadata'];

/** `value` without MOVING_FIELDS (and row metadata) at any depth. */
export function scrub(value: unknown, extra: readonly string[] = []): unknown {
  const skip = new Set<string>([...MOVING_FIELDS, ...extra]);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) if (!skip.has(k)) out[k] = walk(inner);
      return out;
    }
    return v;
  };
  return walk(value);
}

export interface ApiState {
  vms: unknown[];
  vmDetails: Record<string, unknown>;
  jobs: unknown[];
  recoveryPoints: Record<string, unknown>;
  protectedItems: Record<string, unknown[]>;
  alerts: unknown[];
  blobs: Record<string, unknown[]>;
}

export interface SnapshotSources {
  stack: TidemarkStack;
  /** GET of a path from the host's root with the function key; the parsed JSON body. */
  getJson(path: string): Promise<Record<string, unknown>>;
}

/** Every item of a paged list, following nextLink (a small `top` exercises the paging). */
export async function allPages(
  getJson: SnapshotSources['getJson'],
  first: string,
  field: string,
): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | null = first;
  for (let pages = 0; next !== null; pages++) {
    if (pages > 500) throw new Error(`${first}: more than 500 pages`);
    const body = await getJson(next);
    const got = body[field];
    if (!Array.isArray(got)) throw new Error(`${next}: no ${field} array in ${JSON.stringify(body)}`);
    items.push(...(got as unknown[]));
    next = typeof body.nextLink === 'string' ? body.nextLink : null;
  }
  return items;
}

async function tableRows(connectionString: string, table: string): Promise<unknown[]> {
  const client = TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true });
  const rows: unknown[] = [];
  try {
    for await (const row of client.listEntities()) rows.push(scrub(row, ROW_METADATA));
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  return rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function blobList(connectionString: string, container: string): Promise<unknown[]> {
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  const out: unknown[] = [];
  try {
    for await (const b of client.listBlobsFlat({ includeSnapshots: true, includeMetadata: true })) {
      out.push({
        name: b.name,
        snapshot: b.snapshot ?? null,
        contentLength: b.properties.contentLength,
        contentMD5: b.properties.contentMD5 ? Buffer.from(b.properties.contentMD5).toString('base64') : null,
        metadata: b.metadata ?? {},
      });
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  // Azurite lists a blob's snapshots in no fixed order: once in CI it listed the same three in
  // another order after requests that wrote nothing there. What is there is what counts.
  const key = (b: unknown): string => {
    const { name, snapshot } = b as { name: string; snapshot: string | null };
    return `${name}\n${snapshot ?? ''}`;
  };
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

interface VmRow {
  resourceGroup: string;
  name: string;
  protection: unknown;
}

export async function readState({ stack, getJson }: SnapshotSources): Promise<ApiState> {
  const vms = (await allPages(getJson, '/api/vms?top=1', 'vms')) as VmRow[];
  const vmDetails: Record<string, unknown> = {};
  const recoveryPoints: Record<string, unknown> = {};
  for (const vm of vms) {
    const path = `/api/vms/${encodeURIComponent(vm.resourceGroup)}/${encodeURIComponent(vm.name)}`;
    const detail = await getJson(path);
    vmDetails[`${vm.resourceGroup}/${vm.name}`] = scrub(detail);
    if (detail.protectedItem) {
      recoveryPoints[`${vm.resourceGroup}/${vm.name}`] = await allPages(
        getJson,
        `${path}/recovery-points?top=1`,
        'recoveryPoints',
      );
    }
  }
  const { source, target } = stack;
  return {
    vms: vms.map((v) => scrub(v)),
    vmDetails,
    jobs: await allPages(getJson, '/api/jobs?top=1', 'jobs'),
    recoveryPoints,
    protectedItems: {
      source: await tableRows(source.connectionString, TABLES.protectedItems),
      target: await tableRows(target.connectionString, TABLES.protectedItems),
    },
    alerts: await tableRows(target.connectionString, TABLES.alerts),
    blobs: {
      agentConfig: await blobList(source.connectionString, CONTAINERS.agentConfig),
      replicas: await blobList(target.connectionString, CONTAINERS.replicas),
    },
  };
}

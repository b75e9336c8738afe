/**
 * What every ARM collection shares: the region it serves, versions (ARM's `etag`, or a computed one
 * where ARM keeps none), the write preconditions of the FabricStore interface, tidemark's own tags,
 * and read-only properties stripped before a body goes back to ARM.
 */
import { createHash } from 'node:crypto';

import { TidemarkError } from '../../errors';
import type { Tags } from '../types';
import type { ArmClient, Conditions } from './armClient';
import { sameLocation } from './armIds';
import type { ArmResource } from './armTypes';

/** One region of one subscription: what every collection of an ArmFabricStore works in. */
export interface ArmContext {
  client: ArmClient;
  subscriptionId: string;
  /** ARM's canonical location (`eastus`). */
  region: string;
}

/** Tags tidemark keeps for itself on ARM resources; the model's `tags` never shows them. */
export const MAPPING_TAG_PREFIX = 'tidemark-mapping-';
export const NIC_VM_TAG = 'tidemark-vm';

function isOwnTag(key: string): boolean {
  const k = key.toLowerCase();
  return k === NIC_VM_TAG || k.startsWith(MAPPING_TAG_PREFIX);
}

/** A resource's tags split into the user's (the model's `tags`) and tidemark's own. */
export function splitTags(tags: Record<string, string> | undefined): { user: Tags; own: Tags } {
  const user: Tags = {};
  const own: Tags = {};
  for (const [k, v] of Object.entries(tags ?? {})) (isOwnTag(k) ? own : user)[k] = v;
  return { user, own };
}

/** `tags` of a model record, without tidemark's own keys (they are not the caller's to set). */
export function userTags(tags: Tags | undefined): Tags {
  return splitTags(tags).user;
}

export function inRegion(ctx: ArmContext, raw: ArmResource | undefined): boolean {
  return raw !== undefined && sameLocation(raw.location, ctx.region);
}

/** JSON with sorted keys: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Prefix of the versions tidemark computes for resources without an ARM `etag`. */
export const COMPUTED_VERSION_PREFIX = 'tidemark:';

/**
 * A version for a resource ARM keeps no `etag` for: a hash of its id, provisioning state and the
 * record tidemark maps it to, so it changes whenever the record does (checked before a write, not
 * atomically with it).
 */
export function computedVersion(raw: ArmResource, record: unknown): string {
  const hash = createHash('sha256')
    .update(canonicalJson({ id: raw.id?.toLowerCase(), state: raw.properties?.provisioningState, record }))
    .digest('hex');
  return `${COMPUTED_VERSION_PREFIX}${hash.slice(0, 32)}`;
}

/** ARM's `etag` when the resource has one, else the computed version. */
export function versionOf(raw: ArmResource, record: unknown): string {
  return raw.etag ?? computedVersion(raw, record);
}

/** What a write is about, for its messages. */
export interface Precondition {
  label: string;
  name: string;
}

/**
 * The FabricStore write rules against what ARM has now (`current`, any region):
 * no `etag` → only create (Conflict when it exists); `'*'` → anything; an `etag` → only that version
 * (NotFound when gone, Conflict when it differs). Returns the headers that make ARM check it too.
 */
export async function checkWrite(
  ctx: ArmContext,
  what: Precondition,
  current: ArmResource | undefined,
  etag: string | undefined,
  currentVersion: () => Promise<string>,
  options: { ifNoneMatch?: boolean } = {},
): Promise<Conditions> {
  const details = { kind: what.label, name: what.name };
  if (etag === undefined) {
    if (current) {
      const where = inRegion(ctx, current) ? '' : ` (in ${current.location})`;
      throw new TidemarkError('Conflict', `The ${what.label} ${what.name} already exists${where}.`, {
        hint: 'Read it and update it with its etag instead.',
        details,
      });
    }
    return options.ifNoneMatch ? { ifNoneMatch: '*' } : {};
  }
  if (etag === '*') return {};
  if (!current || !inRegion(ctx, current)) {
    throw new TidemarkError(
      'NotFound',
      `The ${what.label} ${what.name} does not exist (any more) in ${ctx.region}.`,
      {
        details,
      },
    );
  }
  if ((await currentVersion()) !== etag) {
    throw new TidemarkError('Conflict', `The ${what.label} ${what.name} changed meanwhile.`, {
      retryable: true,
      hint: 'Read it again and retry.',
      details,
    });
  }
  return current.etag ? { ifMatch: current.etag } : {};
}

/** A copy of `raw` without what ARM computes (`etag`, provisioning state…), to send back in a PUT. */
export function writable<T extends ArmResource>(raw: T, readOnlyProperties: readonly string[] = []): T {
  const { etag: _etag, ...rest } = structuredClone(raw);
  const properties = { ...(rest.properties ?? {}) } as Record<string, unknown>;
  for (const key of ['provisioningState', 'resourceGuid', ...readOnlyProperties]) delete properties[key];
  return { ...rest, properties } as unknown as T;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Sets `target[key] = value` unless it already holds an equal value (so unchanged bodies stay equal). */
export function setIfChanged(target: Record<string, unknown>, key: string, value: unknown): void {
  if (canonicalJson(target[key]) !== canonicalJson(value)) target[key] = value;
}

/** The body's tags: the record's (without tidemark's own keys) plus the own tags in `own`. */
export function applyTags(body: ArmResource, recordTags: Tags | undefined, own: Tags): void {
  const tags = { ...userTags(recordTags), ...own };
  if (canonicalJson(body.tags ?? {}) !== canonicalJson(tags)) body.tags = tags;
}

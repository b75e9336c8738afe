/**
 * Resource groups in ARM. A group is in this store when its location is the store's region (its
 * resources may be anywhere in Azure; each collection filters its own by location). ARM keeps no
 * etag for groups: their version is computed (armRecords.ts).
 *
 * Deleting a group in ARM deletes everything in it, while the FabricStore interface deletes only the
 * group: so a group that still holds resources is not deleted (Conflict saying how many).
 */
import { TidemarkError } from '../../errors';
import type { DeleteOptions, ResourceGroupCollection } from '../fabricStore';
import { checkRegion, checkResourceGroup } from '../recordChecks';
import type { ResourceGroup } from '../types';
import { API_VERSIONS } from './apiVersions';
import { resourceGroupPath, subscriptionPath } from './armIds';
import {
  type ArmContext,
  applyTags,
  canonicalJson,
  checkWrite,
  inRegion,
  splitTags,
  versionOf,
  writable,
} from './armRecords';
import type { ArmResource } from './armTypes';

const API = API_VERSIONS.resources;

export class ArmResourceGroups implements ResourceGroupCollection {
  constructor(private readonly ctx: ArmContext) {}

  #path(name: string): string {
    return resourceGroupPath(this.ctx.subscriptionId, name);
  }

  #toModel(raw: ArmResource): Omit<ResourceGroup, 'etag'> {
    const tags = splitTags(raw.tags).user;
    return { name: raw.name ?? '', region: this.ctx.region, ...(Object.keys(tags).length ? { tags } : {}) };
  }

  #withVersion(raw: ArmResource): ResourceGroup {
    const model = this.#toModel(raw);
    return { ...model, etag: versionOf(raw, model) };
  }

  #read(name: string): Promise<ArmResource | undefined> {
    return this.ctx.client.get<ArmResource>(this.#path(name), API);
  }

  async get(name: string): Promise<ResourceGroup | undefined> {
    const raw = await this.#read(name);
    return raw && inRegion(this.ctx, raw) ? this.#withVersion(raw) : undefined;
  }

  async list(): Promise<ResourceGroup[]> {
    const all = await this.ctx.client.list<ArmResource>(
      `${subscriptionPath(this.ctx.subscriptionId)}/resourcegroups`,
      API,
    );
    return (all ?? []).filter((raw) => inRegion(this.ctx, raw)).map((raw) => this.#withVersion(raw));
  }

  async put(group: ResourceGroup): Promise<ResourceGroup> {
    checkResourceGroup(group);
    checkRegion(this.ctx.region, group.region, `Resource group ${group.name}`);
    const current = await this.#read(group.name);
    const what = { label: 'resource group', name: group.name };
    await checkWrite(this.ctx, what, current, group.etag, async () =>
      versionOf(current!, this.#toModel(current!)),
    );
    const base = current && writable(current);
    const body: ArmResource = base ? structuredClone(base) : { location: this.ctx.region };
    applyTags(body, group.tags, splitTags(current?.tags).own);
    if (base && canonicalJson(body) === canonicalJson(base)) return this.#withVersion(current!);
    return this.#withVersion(await this.ctx.client.put<ArmResource>(this.#path(group.name), API, body));
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    const current = await this.#read(name);
    if (!current || !inRegion(this.ctx, current)) return false;
    if (options.etag !== undefined && options.etag !== '*') {
      if (versionOf(current, this.#toModel(current)) !== options.etag) {
        throw new TidemarkError('Conflict', `The resource group ${name} changed meanwhile.`, {
          retryable: true,
          hint: 'Read it again and retry.',
          details: { kind: 'resource group', name },
        });
      }
    }
    // One page of one resource is enough to know the group is not empty.
    const page = await this.ctx.client.get<{ value?: ArmResource[] }>(`${this.#path(name)}/resources`, API, {
      $top: '1',
    });
    const first = page?.value?.[0];
    if (first) {
      throw new TidemarkError(
        'Conflict',
        `Resource group ${current.name ?? name} still holds resources (${first.type} ${first.name}, …); Azure would delete them with it.`,
        { hint: 'Delete its resources first.', details: { resourceGroup: name } },
      );
    }
    return this.ctx.client.delete(this.#path(name), API);
  }
}

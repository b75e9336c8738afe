/**
 * Network mappings in ARM. Azure has no resource for tidemark's mappings (Site Recovery keeps its
 * own in the vault), so a mapping is a tag on its source VNet:
 *
 *   tidemark-mapping-{target region} = resource id of the target VNet
 *
 * e.g. `tidemark-mapping-westus = /subscriptions/…/resourceGroups/shop-rg-asr/providers/
 * Microsoft.Network/virtualNetworks/shop-vnet-asr`. A tag value holds at most 256 characters, so a
 * longer id is refused. Writes are a PUT of the source VNet with `If-Match` on its etag; the mapping's
 * own version is computed from the mapping (armRecords.ts), so it changes only when the mapping does.
 */
import { TidemarkError } from '../../errors';
import type { DeleteOptions, NetworkMappingCollection } from '../fabricStore';
import { nameKey } from '../names';
import { checkNetworkMapping, checkRegion } from '../recordChecks';
import type { NetworkMapping, VnetRef } from '../types';
import { API_VERSIONS } from './apiVersions';
import { normalizeLocation, parseResourceId, PROVIDERS, refFromId, resourceId } from './armIds';
import { type ArmContext, computedVersion, inRegion, MAPPING_TAG_PREFIX } from './armRecords';
import type { ArmVirtualNetwork } from './armTypes';
import type { ArmVirtualNetworks } from './virtualNetworks';

/** Azure's limit on a tag value. */
const MAX_TAG_VALUE = 256;

export function mappingTag(targetRegion: string): string {
  return `${MAPPING_TAG_PREFIX}${normalizeLocation(targetRegion)}`;
}

export class ArmNetworkMappings implements NetworkMappingCollection {
  constructor(
    private readonly ctx: ArmContext,
    private readonly vnets: ArmVirtualNetworks,
  ) {}

  #name(sourceVnet: VnetRef, targetRegion: string): string {
    return `${sourceVnet.resourceGroup}/${sourceVnet.name} → ${targetRegion}`;
  }

  /** The mappings kept on one VNet, by target region. */
  #mappingsOf(raw: ArmVirtualNetwork): NetworkMapping[] {
    const source = parseResourceId(raw.id);
    if (!source) return [];
    const out: NetworkMapping[] = [];
    for (const [key, value] of Object.entries(raw.tags ?? {})) {
      if (!key.toLowerCase().startsWith(MAPPING_TAG_PREFIX)) continue;
      const target = parseResourceId(value);
      if (!target || nameKey(target.type) !== nameKey(PROVIDERS.virtualNetworks)) continue;
      const mapping = {
        sourceRegion: this.ctx.region,
        sourceVnet: { resourceGroup: source.resourceGroup, name: raw.name ?? source.name },
        targetRegion: key.slice(MAPPING_TAG_PREFIX.length).toLowerCase(),
        targetVnet: { resourceGroup: target.resourceGroup, name: target.name },
      };
      out.push({ ...mapping, etag: computedVersion(raw, { ...mapping, targetId: value.toLowerCase() }) });
    }
    return out;
  }

  #find(raw: ArmVirtualNetwork, targetRegion: string): NetworkMapping | undefined {
    return this.#mappingsOf(raw).find((m) => m.targetRegion === normalizeLocation(targetRegion));
  }

  async #source(sourceVnet: VnetRef): Promise<ArmVirtualNetwork | undefined> {
    const raw = await this.vnets.readRaw(sourceVnet.resourceGroup, sourceVnet.name);
    return raw && inRegion(this.ctx, raw) ? raw : undefined;
  }

  async get(sourceVnet: VnetRef, targetRegion: string): Promise<NetworkMapping | undefined> {
    const raw = await this.#source(sourceVnet);
    return raw && this.#find(raw, targetRegion);
  }

  async list(): Promise<NetworkMapping[]> {
    const all = await this.ctx.client.list<ArmVirtualNetwork>(
      `/subscriptions/${this.ctx.subscriptionId}/providers/${PROVIDERS.virtualNetworks}`,
      API_VERSIONS.network,
    );
    return (all ?? []).filter((raw) => inRegion(this.ctx, raw)).flatMap((raw) => this.#mappingsOf(raw));
  }

  /** Writes the source VNet's tags with the mapping to `targetRegion` set to `targetId` (or removed). */
  async #write(
    raw: ArmVirtualNetwork,
    targetRegion: string,
    targetId: string | undefined,
  ): Promise<ArmVirtualNetwork> {
    const tags = Object.fromEntries(
      Object.entries(raw.tags ?? {}).filter(([k]) => k.toLowerCase() !== mappingTag(targetRegion)),
    );
    if (targetId !== undefined) tags[mappingTag(targetRegion)] = targetId;
    const body = { ...this.vnets.writableOf(raw), tags };
    return this.ctx.client.put<ArmVirtualNetwork>(
      raw.id!,
      API_VERSIONS.network,
      body,
      raw.etag ? { ifMatch: raw.etag } : {},
    );
  }

  #checkVersion(name: string, existing: NetworkMapping | undefined, etag: string | undefined): void {
    const details = { kind: 'network mapping', name };
    if (etag === undefined) {
      if (existing) {
        throw new TidemarkError('Conflict', `The network mapping ${name} already exists.`, {
          hint: 'Read it and update it with its etag instead.',
          details,
        });
      }
      return;
    }
    if (etag === '*') return;
    if (!existing)
      throw new TidemarkError('NotFound', `The network mapping ${name} does not exist (any more).`, {
        details,
      });
    if (existing.etag !== etag) {
      throw new TidemarkError('Conflict', `The network mapping ${name} changed meanwhile.`, {
        retryable: true,
        hint: 'Read it again and retry.',
        details,
      });
    }
  }

  async put(mapping: NetworkMapping): Promise<NetworkMapping> {
    checkNetworkMapping(mapping);
    const name = this.#name(mapping.sourceVnet, mapping.targetRegion);
    checkRegion(this.ctx.region, mapping.sourceRegion, `The source of network mapping ${name}`);
    const targetId = resourceId(
      this.ctx.subscriptionId,
      mapping.targetVnet.resourceGroup,
      PROVIDERS.virtualNetworks,
      mapping.targetVnet.name,
    );
    refFromId(targetId, PROVIDERS.virtualNetworks, 'The target VNet');
    if (targetId.length > MAX_TAG_VALUE) {
      throw new TidemarkError(
        'InvalidArgument',
        `Network mapping ${name}: the target VNet's id is ${targetId.length} characters; an Azure tag value holds at most ${MAX_TAG_VALUE}.`,
        { hint: 'Use shorter resource group or VNet names for the target.' },
      );
    }
    const raw = await this.#source(mapping.sourceVnet);
    if (!raw) {
      throw new TidemarkError(
        'NotFound',
        `Network mapping ${name}: the source VNet does not exist in ${this.ctx.region}; the mapping is kept as a tag on it.`,
        { details: { ...mapping.sourceVnet } },
      );
    }
    this.#checkVersion(name, this.#find(raw, mapping.targetRegion), mapping.etag);
    const saved = await this.#write(raw, mapping.targetRegion, targetId);
    const result = this.#find(saved, mapping.targetRegion);
    if (!result) throw new TidemarkError('Internal', `Network mapping ${name}: ARM did not keep the tag.`);
    return result;
  }

  async delete(sourceVnet: VnetRef, targetRegion: string, options: DeleteOptions = {}): Promise<boolean> {
    const raw = await this.#source(sourceVnet);
    const existing = raw && this.#find(raw, targetRegion);
    if (!raw || !existing) return false;
    if (options.etag !== undefined)
      this.#checkVersion(this.#name(sourceVnet, targetRegion), existing, options.etag);
    await this.#write(raw, targetRegion, undefined);
    return true;
  }
}

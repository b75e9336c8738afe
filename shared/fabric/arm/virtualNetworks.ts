/**
 * Virtual networks and their subnets in ARM. A subnet's `ipConfigurations` are ARM's: the ids of the
 * NIC IP configurations in it, which carry the addresses, so a read lists the NICs of the groups
 * they are in and maps each to `{nic, privateIp}`. Configurations of anything but a NIC (a load
 * balancer's frontend, a gateway) are left out. ARM computes this list: a put ignores the record's,
 * and a put that only changes it (claimPrivateIp's claim) sends nothing; ARM itself refuses a NIC
 * whose static address is taken (networkInterfaces.ts).
 *
 * A put keeps every subnet property ARM has (NSGs, route tables, delegations) and removes the
 * subnets the record leaves out, as a PUT of a virtual network does.
 */
import { nameKey, sameName } from '../names';
import { checkVirtualNetwork } from '../recordChecks';
import type { IpConfiguration, Subnet, VirtualNetwork } from '../types';
import { ArmCollection, type Model } from './armCollection';
import { API_VERSIONS } from './apiVersions';
import { isIdOfType, parseResourceId, PROVIDERS, resourceGroupPath } from './armIds';
import { type ArmContext, applyTags, mapLimit, setIfChanged, splitTags, writable } from './armRecords';
import type { ArmNetworkInterface, ArmSubnet, ArmVirtualNetwork } from './armTypes';

type NicIndex = Map<string, ArmNetworkInterface>;

/** The group part of an ARM id, lower-cased. */
function groupOf(id: string): string | undefined {
  const parsed = parseResourceId(id);
  return parsed && nameKey(parsed.resourceGroup);
}

export class ArmVirtualNetworks extends ArmCollection<VirtualNetwork, ArmVirtualNetwork> {
  constructor(ctx: ArmContext) {
    super(ctx, {
      type: PROVIDERS.virtualNetworks,
      apiVersion: API_VERSIONS.network,
      label: 'virtual network',
      check: checkVirtualNetwork,
    });
  }

  /** The NICs of the groups the subnets' IP configurations point into, by lower-cased id. */
  async #nicsFor(raw: ArmVirtualNetwork): Promise<NicIndex> {
    const groups = new Set<string>();
    for (const subnet of raw.properties?.subnets ?? []) {
      for (const config of subnet.properties?.ipConfigurations ?? []) {
        const parsed = parseResourceId(config.id);
        if (isIdOfType(parsed, PROVIDERS.networkInterfaces)) groups.add(groupOf(config.id!)!);
      }
    }
    const index: NicIndex = new Map();
    const lists = await mapLimit([...groups].sort(), 4, (group) =>
      this.client.list<ArmNetworkInterface>(
        `${resourceGroupPath(this.ctx.subscriptionId, group)}/providers/${PROVIDERS.networkInterfaces}`,
        API_VERSIONS.network,
      ),
    );
    for (const nic of lists.flatMap((l) => l ?? [])) if (nic.id) index.set(nic.id.toLowerCase(), nic);
    return index;
  }

  #ipConfigurations(subnet: ArmSubnet, nics: NicIndex): IpConfiguration[] {
    const out: IpConfiguration[] = [];
    for (const config of subnet.properties?.ipConfigurations ?? []) {
      const parsed = parseResourceId(config.id);
      if (!isIdOfType(parsed, PROVIDERS.networkInterfaces)) continue;
      const nicId = config.id!.toLowerCase().split('/ipconfigurations/')[0]!;
      const nic = nics.get(nicId);
      const configName = parsed.children[1];
      const ip = nic?.properties?.ipConfigurations?.find((c) => sameName(c.name, configName))?.properties
        ?.privateIPAddress;
      if (nic && ip)
        out.push({
          nic: { resourceGroup: parsed.resourceGroup, name: nic.name ?? parsed.name },
          privateIp: ip,
        });
    }
    return out;
  }

  protected async toModel(raw: ArmVirtualNetwork): Promise<Model<VirtualNetwork>> {
    const nics = await this.#nicsFor(raw);
    const parsed = parseResourceId(raw.id);
    const subnets: Subnet[] = (raw.properties?.subnets ?? []).map((s) => {
      const configs = this.#ipConfigurations(s, nics);
      return {
        name: s.name ?? '',
        addressPrefix: s.properties?.addressPrefix ?? s.properties?.addressPrefixes?.[0] ?? '',
        ...(configs.length ? { ipConfigurations: configs } : {}),
      };
    });
    const tags = splitTags(raw.tags).user;
    return {
      resourceGroup: parsed?.resourceGroup ?? '',
      name: raw.name ?? parsed?.name ?? '',
      region: this.ctx.region,
      addressSpace: [...(raw.properties?.addressSpace?.addressPrefixes ?? [])],
      subnets,
      ...(Object.keys(tags).length ? { tags } : {}),
    };
  }

  /** What a PUT of `current` sends back (network mappings change only its tags). */
  writableOf(current: ArmVirtualNetwork): ArmVirtualNetwork {
    const body = writable(current);
    const subnets = body.properties?.subnets?.map((s) => {
      const { etag: _etag, ...rest } = s;
      const properties = { ...(rest.properties ?? {}) };
      delete properties.provisioningState;
      delete properties.ipConfigurations;
      return { ...rest, properties };
    });
    if (subnets) body.properties!.subnets = subnets;
    return body;
  }

  protected async toBody(
    record: VirtualNetwork,
    base: ArmVirtualNetwork | undefined,
    current: ArmVirtualNetwork | undefined,
  ): Promise<ArmVirtualNetwork> {
    const body: ArmVirtualNetwork = base ?? { location: this.ctx.region, properties: {} };
    applyTags(body, record.tags, splitTags(current?.tags).own);
    const properties = (body.properties ??= {});
    const space = { ...(properties.addressSpace ?? {}) };
    setIfChanged(space, 'addressPrefixes', [...record.addressSpace]);
    setIfChanged(properties, 'addressSpace', space);
    const have = properties.subnets ?? [];
    const subnets = record.subnets.map((s): ArmSubnet => {
      const existing = have.find((h) => sameName(h.name, s.name));
      if (!existing) return { name: s.name, properties: { addressPrefix: s.addressPrefix } };
      const prefixes = existing.properties?.addressPrefixes;
      const prefix = existing.properties?.addressPrefix ?? prefixes?.[0];
      if (prefix === s.addressPrefix) return existing;
      const { addressPrefixes: _multiple, ...rest } = existing.properties ?? {};
      return { ...existing, properties: { ...rest, addressPrefix: s.addressPrefix } };
    });
    setIfChanged(properties, 'subnets', subnets);
    return body;
  }
}

/**
 * NICs in ARM. The record's subnet and address are the primary IP configuration's, always written
 * with `privateIPAllocationMethod: Static`: tidemark picks the address (the lowest free one, or the
 * preferred one, as locally) and ARM refuses it when it is taken (400 PrivateIPAddressInUse, a
 * Conflict), so ensureNic reads the subnet again and picks the next.
 *
 * The record's `vm` is ARM's `virtualMachine` when a VM uses the NIC. ARM sets that itself when the
 * VM is created, so until then tidemark keeps the VM it is meant for in the tag `tidemark-vm`.
 * Other IP configurations, NSGs, DNS settings and accelerated networking are kept as ARM has them.
 */
import { sameName } from '../names';
import { checkNetworkInterface } from '../recordChecks';
import type { NetworkInterface } from '../types';
import { ArmCollection, type Model } from './armCollection';
import { API_VERSIONS } from './apiVersions';
import { isIdOfType, parseResourceId, PROVIDERS, subnetId } from './armIds';
import { type ArmContext, applyTags, NIC_VM_TAG, setIfChanged, splitTags, writable } from './armRecords';
import type { ArmIpConfiguration, ArmNetworkInterface } from './armTypes';

const DEFAULT_IP_CONFIGURATION = 'ipconfig1';

function primaryOf(configs: readonly ArmIpConfiguration[] | undefined): ArmIpConfiguration | undefined {
  return configs?.find((c) => c.properties?.primary) ?? configs?.[0];
}

export class ArmNetworkInterfaces extends ArmCollection<NetworkInterface, ArmNetworkInterface> {
  constructor(ctx: ArmContext) {
    super(ctx, {
      type: PROVIDERS.networkInterfaces,
      apiVersion: API_VERSIONS.network,
      label: 'network interface',
      check: checkNetworkInterface,
    });
  }

  protected async toModel(raw: ArmNetworkInterface): Promise<Model<NetworkInterface>> {
    const parsed = parseResourceId(raw.id);
    const primary = primaryOf(raw.properties?.ipConfigurations);
    const subnet = parseResourceId(primary?.properties?.subnet?.id);
    const { user, own } = splitTags(raw.tags);
    const vmId = parseResourceId(raw.properties?.virtualMachine?.id);
    const vm = isIdOfType(vmId, PROVIDERS.virtualMachines)
      ? vmId.name
      : Object.entries(own).find(([k]) => k.toLowerCase() === NIC_VM_TAG)?.[1];
    return {
      resourceGroup: parsed?.resourceGroup ?? '',
      name: raw.name ?? parsed?.name ?? '',
      region: this.ctx.region,
      subnet: {
        resourceGroup: subnet?.resourceGroup ?? '',
        vnet: subnet?.name ?? '',
        subnet: subnet?.children[1] ?? '',
      },
      privateIp: primary?.properties?.privateIPAddress ?? '',
      ...(vm ? { vm } : {}),
      ...(Object.keys(user).length ? { tags: user } : {}),
    };
  }

  protected writableOf(current: ArmNetworkInterface): ArmNetworkInterface {
    const body = writable(current, [
      'virtualMachine',
      'macAddress',
      'hostedWorkloads',
      'vnetEncryptionSupported',
    ]);
    const configs = body.properties?.ipConfigurations?.map((c) => {
      const { etag: _etag, ...rest } = c;
      const properties = { ...(rest.properties ?? {}) };
      delete properties.provisioningState;
      return { ...rest, properties };
    });
    if (configs) body.properties!.ipConfigurations = configs;
    return body;
  }

  protected async toBody(
    record: NetworkInterface,
    base: ArmNetworkInterface | undefined,
    current: ArmNetworkInterface | undefined,
  ): Promise<ArmNetworkInterface> {
    const body: ArmNetworkInterface = base ?? { location: this.ctx.region, properties: {} };
    const armVm = parseResourceId(current?.properties?.virtualMachine?.id);
    const own = Object.fromEntries(
      Object.entries(splitTags(current?.tags).own).filter(([k]) => k.toLowerCase() !== NIC_VM_TAG),
    );
    // The VM it is meant for, until ARM knows it from the VM itself.
    if (record.vm !== undefined && !(armVm && sameName(armVm.name, record.vm))) own[NIC_VM_TAG] = record.vm;
    applyTags(body, record.tags, own);

    const properties = (body.properties ??= {});
    const configs = [...(properties.ipConfigurations ?? [])];
    const primary = primaryOf(configs);
    const index = primary ? configs.indexOf(primary) : 0;
    const config: ArmIpConfiguration = primary
      ? { ...primary, properties: { ...(primary.properties ?? {}) } }
      : { name: DEFAULT_IP_CONFIGURATION, properties: {} };
    const p = config.properties!;
    setIfChanged(p, 'subnet', { ...(p.subnet ?? {}), id: this.#subnetIdLike(p.subnet?.id, record) });
    setIfChanged(p, 'privateIPAddress', record.privateIp);
    setIfChanged(p, 'privateIPAllocationMethod', 'Static');
    setIfChanged(p, 'primary', true);
    configs[index] = config;
    setIfChanged(properties, 'ipConfigurations', configs);
    return body;
  }

  /** The record's subnet id, spelled as ARM has it when it is the same subnet (ids compare case-insensitively). */
  #subnetIdLike(existing: string | undefined, record: NetworkInterface): string {
    const id = subnetId(this.ctx.subscriptionId, record.subnet);
    return existing && existing.toLowerCase() === id.toLowerCase() ? existing : id;
  }
}

/**
 * Availability sets in ARM, created with the `Aligned` SKU (what VMs with managed disks need). ARM
 * keeps no etag for them: their version is computed (armRecords.ts). ARM does not let an existing
 * set change its fault domain count; such a put is ARM's error, as a Conflict or InvalidArgument.
 */
import { checkAvailabilitySet } from '../recordChecks';
import type { AvailabilitySet } from '../types';
import { ArmCollection, type Model } from './armCollection';
import { API_VERSIONS } from './apiVersions';
import { parseResourceId, PROVIDERS } from './armIds';
import { type ArmContext, applyTags, setIfChanged, splitTags, writable } from './armRecords';
import type { ArmAvailabilitySet } from './armTypes';

export const AVAILABILITY_SET_SKU = 'Aligned';

export class ArmAvailabilitySets extends ArmCollection<AvailabilitySet, ArmAvailabilitySet> {
  constructor(ctx: ArmContext) {
    super(ctx, {
      type: PROVIDERS.availabilitySets,
      apiVersion: API_VERSIONS.compute,
      label: 'availability set',
      check: checkAvailabilitySet,
    });
  }

  protected async toModel(raw: ArmAvailabilitySet): Promise<Model<AvailabilitySet>> {
    const parsed = parseResourceId(raw.id);
    const tags = splitTags(raw.tags).user;
    return {
      resourceGroup: parsed?.resourceGroup ?? '',
      name: raw.name ?? parsed?.name ?? '',
      region: this.ctx.region,
      faultDomainCount: raw.properties?.platformFaultDomainCount ?? 2,
      updateDomainCount: raw.properties?.platformUpdateDomainCount ?? 5,
      ...(Object.keys(tags).length ? { tags } : {}),
    };
  }

  protected writableOf(current: ArmAvailabilitySet): ArmAvailabilitySet {
    // `virtualMachines` is ARM's list of members and `statuses` its instance view: not ours to send.
    return writable(current, ['virtualMachines', 'statuses']);
  }

  protected async toBody(
    record: AvailabilitySet,
    base: ArmAvailabilitySet | undefined,
    current: ArmAvailabilitySet | undefined,
  ): Promise<ArmAvailabilitySet> {
    const body: ArmAvailabilitySet = base ?? {
      location: this.ctx.region,
      sku: { name: AVAILABILITY_SET_SKU },
      properties: {},
    };
    applyTags(body, record.tags, splitTags(current?.tags).own);
    const properties = (body.properties ??= {});
    setIfChanged(properties, 'platformFaultDomainCount', record.faultDomainCount);
    setIfChanged(properties, 'platformUpdateDomainCount', record.updateDomainCount);
    return body;
  }
}

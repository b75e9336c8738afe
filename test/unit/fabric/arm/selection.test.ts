/**
 * Which fabric the settings choose: TIDEMARK_FABRIC=arm gives every region an ArmFabricStore over one
 * client (and no page-blob disks container), local stays the table fabric, and the ARM fabric without
 * a subscription is InvalidConfig.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../../shared/config';
import { isTidemarkError } from '../../../../shared/errors';
import { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { RegionalFabric } from '../../../../shared/fabric/regionalFabric';
import { fabricServices } from '../../../../shared/fabric/services';
import { TableFabricStore } from '../../../../shared/fabric/tableFabricStore';
import { FakeArm, InstantClock, StaticTokenCredential } from '../../../helpers/fakeArm';

const STORAGE = 'UseDevelopmentStorage=true';

let fake: FakeArm;
beforeAll(async () => {
  fake = await FakeArm.start();
});
afterAll(() => fake.close());

function settings(extra: Record<string, string> = {}): Record<string, string> {
  return { TIDEMARK_SOURCE_STORAGE: STORAGE, TIDEMARK_TARGET_STORAGE: STORAGE, ...extra };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('fabric selection', () => {
  it('chooses the ARM fabric with TIDEMARK_FABRIC=arm, one store per region', async () => {
    const config = loadConfig(
      settings({
        TIDEMARK_FABRIC: 'arm',
        AZURE_SUBSCRIPTION_ID: fake.subscriptionId,
        TIDEMARK_ARM_ENDPOINT: fake.url,
      }),
    );
    const credential = new StaticTokenCredential('arm-token');
    const { fabric } = fabricServices(config, { arm: { credential, clock: new InstantClock() } });
    const east = fabric.store('EastUS');
    const west = fabric.store('westus');
    expect(east).toBeInstanceOf(ArmFabricStore);
    expect([east.region, west.region]).toEqual(['eastus', 'westus']);
    expect(fabric.store('eastus')).toBe(east);
    expect((east as ArmFabricStore).subscriptionId).toBe(fake.subscriptionId);

    fake.clear();
    fake.seed(`/subscriptions/${fake.subscriptionId}/resourceGroups/a`, { location: 'eastus' });
    fake.seed(`/subscriptions/${fake.subscriptionId}/resourceGroups/b`, { location: 'westus' });
    fake.reset();
    expect((await east.resourceGroups.list()).map((g) => g.name)).toEqual(['a']);
    expect((await west.resourceGroups.list()).map((g) => g.name)).toEqual(['b']);
    expect(fake.requests.map((r) => r.authorization)).toEqual(['Bearer arm-token', 'Bearer arm-token']);
    // One client, one token, for both regions.
    expect(credential.calls).toBe(1);

    const err = thrown(() => fabric.disks('eastus'));
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    expect((err as Error).message).toContain('managed disks');
  });

  it('keeps the local table fabric by default', () => {
    const fabric = RegionalFabric.fromConfig(loadConfig(settings()));
    expect(fabric.store('eastus')).toBeInstanceOf(TableFabricStore);
    expect(fabric.disks('eastus').containerName).toBe('disks');
  });

  it('refuses the ARM fabric without a subscription, or over plain HTTP elsewhere than 127.0.0.1', () => {
    expect(
      isTidemarkError(
        thrown(() => loadConfig(settings({ TIDEMARK_FABRIC: 'arm' }))),
        'InvalidConfig',
      ),
    ).toBe(true);
    const config = loadConfig(
      settings({
        TIDEMARK_FABRIC: 'arm',
        AZURE_SUBSCRIPTION_ID: fake.subscriptionId,
        TIDEMARK_ARM_ENDPOINT: 'http://management.example:8080',
      }),
    );
    const fabric = RegionalFabric.fromConfig(config, { credential: new StaticTokenCredential() });
    expect(
      isTidemarkError(
        thrown(() => fabric.store('eastus')),
        'InvalidConfig',
      ),
    ).toBe(true);
  });
});

/**
 * The body of `PUT /api/vms/{rg}/{vm}` (DESIGN §6), as a zod schema that checks every field, names
 * by Azure's rules included, so one 400 lists everything wrong with a request.
 */
import { z } from 'zod';

import { type FabricNameKind, nameMessage, NAME_RULES } from './names';
import { POWER_STATES } from './types';
import { diskSizeProblem, MAX_DISKS, type VmPutInput } from './vmSpec';

function named(kind: FabricNameKind): z.ZodType<string> {
  return z
    .string({ error: `a ${NAME_RULES[kind].label.toLowerCase()} (string) is required` })
    .superRefine((value, ctx) => {
      const message = nameMessage(kind, value);
      if (message) ctx.addIssue({ code: 'custom', message });
    });
}

const diskSchema = z.strictObject({
  name: named('disk'),
  sizeGiB: z.number({ error: 'sizeGiB (a number of GiB) is required' }).superRefine((value, ctx) => {
    const problem = diskSizeProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});

export const putVmBodySchema = z
  .strictObject({
    region: z.string({ error: 'region (e.g. "eastus") is required' }).min(1),
    vnet: named('virtualNetwork'),
    subnet: named('subnet'),
    size: z.string({ error: 'size (e.g. "Standard_B2s") is required' }),
    availabilitySet: named('availabilitySet').optional(),
    disks: z
      .array(diskSchema, { error: 'disks (an array of {name, sizeGiB}) is required' })
      .min(1, 'a VM needs at least its OS disk')
      .max(MAX_DISKS, `a VM has at most ${MAX_DISKS} disks (an OS disk and 64 data disks)`),
    powerState: z.enum(POWER_STATES).optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.disks.forEach((disk, i) => {
      const key = disk.name.toLowerCase();
      if (seen.has(key))
        ctx.addIssue({
          code: 'custom',
          path: ['disks', i, 'name'],
          message: `a second disk called ${disk.name}`,
        });
      seen.add(key);
    });
  });

export type PutVmBody = z.output<typeof putVmBodySchema>;

/** The service's input for a PUT to `/vms/{resourceGroup}/{name}` with `body`. */
export function putVmInput(resourceGroup: string, name: string, body: PutVmBody): VmPutInput {
  return {
    resourceGroup,
    name,
    region: body.region,
    vnet: body.vnet,
    subnet: body.subnet,
    size: body.size,
    disks: body.disks,
    ...(body.availabilitySet !== undefined ? { availabilitySet: body.availabilitySet } : {}),
    ...(body.powerState !== undefined ? { powerState: body.powerState } : {}),
  };
}

/**
 * The ARM API versions the ARM fabric speaks, one per resource provider (docs/arm-fabric.md). Pinned
 * here, so the request shapes the code builds and the fake in the tests answer stay in step.
 */
export const API_VERSIONS = {
  /** Microsoft.Resources: resource groups and the resources in a group. */
  resources: '2021-04-01',
  /** Microsoft.Network: virtual networks, subnets, NICs. */
  network: '2024-05-01',
  /** Microsoft.Compute: VMs (with `etag`, If-Match/If-None-Match) and availability sets. */
  compute: '2024-07-01',
  /** Microsoft.Compute disks (the disk resource provider versions separately). */
  disks: '2024-03-02',
  /** Microsoft.Compute snapshots, and disk and snapshot access grants (the disk resource provider's). */
  snapshots: '2024-03-02',
  /** Microsoft.Storage: storage accounts, read only. */
  storage: '2023-05-01',
} as const;

/**
 * Replication runs both ways: forward from the source region to the target region (enable
 * replication), and back after a failover (reprotect), from the target region to the source. The
 * whole pipeline (cache, applier, replicas, journal, recovery points, protected items) works on a
 * TidemarkConfig's `source` → `target`; the reverse direction is the same config with the two
 * swapped. So a VM's protected item lives in the region it replicates to, with its replicas.
 */
import type { TidemarkConfig } from './config';

export const DIRECTIONS = ['forward', 'reverse'] as const;
export type Direction = (typeof DIRECTIONS)[number];

const reversed = new WeakMap<TidemarkConfig, TidemarkConfig>();

/** The config of `direction`: `config` itself, or source and target swapped (same object each call). */
export function directionConfig(config: TidemarkConfig, direction: Direction): TidemarkConfig {
  if (direction === 'forward') return config;
  let swapped = reversed.get(config);
  if (!swapped) {
    swapped = {
      ...config,
      source: { ...config.target, role: 'source' },
      target: { ...config.source, role: 'target' },
    };
    reversed.set(config, swapped);
  }
  return swapped;
}

/** The direction in which a VM running in `region` replicates (undefined for a region tidemark doesn't know). */
export function directionFrom(config: TidemarkConfig, region: string): Direction | undefined {
  const r = region.toLowerCase();
  if (r === config.source.name.toLowerCase()) return 'forward';
  if (r === config.target.name.toLowerCase()) return 'reverse';
  return undefined;
}

/** The config for replicating a VM that runs in `region`. */
export function configFrom(config: TidemarkConfig, region: string): TidemarkConfig | undefined {
  const direction = directionFrom(config, region);
  return direction && directionConfig(config, direction);
}

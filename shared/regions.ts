/**
 * The regions tidemark knows: the source and the target of shared/config.ts, each with its storage.
 * Code that works on "the fabric (or disks) of region X" asks here for X's connection string, so an
 * unknown region is one clear 400 listing the known ones, wherever it comes from.
 */
import type { RegionConfig, TidemarkConfig } from './config';
import { TidemarkError } from './errors';

export interface Region {
  /** Lower-case, as Azure spells region names (`eastus`). */
  name: string;
  role: 'source' | 'target';
  connectionString: string;
}

export class Regions {
  readonly #byName = new Map<string, RegionConfig>();

  constructor(config: TidemarkConfig) {
    for (const region of [config.source, config.target]) {
      const key = region.name.toLowerCase();
      if (this.#byName.has(key)) {
        throw new TidemarkError(
          'InvalidConfig',
          `The source and target regions are both "${region.name}"; they must differ.`,
          { hint: 'Set TIDEMARK_SOURCE_REGION and TIDEMARK_TARGET_REGION to two different regions.' },
        );
      }
      this.#byName.set(key, region);
    }
  }

  /** The known region names, source first. */
  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Whether `name` (any case) is a known region. */
  has(name: string): boolean {
    return this.#byName.has(name.toLowerCase());
  }

  /**
   * The region called `name` (any case). Unknown: InvalidArgument listing the known ones. Known but
   * without a storage connection: InvalidConfig, since that is the app's settings, not the caller.
   */
  get(name: string): Region {
    const region = this.#byName.get(name.toLowerCase());
    if (!region) {
      throw new TidemarkError(
        'InvalidArgument',
        `Unknown region ${JSON.stringify(name)}; the known regions are ${this.names.join(', ')}.`,
        { details: { region: name, knownRegions: this.names } },
      );
    }
    if (!region.connectionString) {
      const setting = region.role === 'source' ? 'TIDEMARK_SOURCE_STORAGE' : 'TIDEMARK_TARGET_STORAGE';
      throw new TidemarkError(
        'InvalidConfig',
        `Region ${region.name} has no storage connection configured.`,
        {
          hint: `Set ${setting} in the app settings.`,
        },
      );
    }
    return { name: region.name.toLowerCase(), role: region.role, connectionString: region.connectionString };
  }

  /** Every known region that has storage, source first. */
  all(): Region[] {
    return this.names.filter((n) => this.#byName.get(n)?.connectionString).map((n) => this.get(n));
  }
}

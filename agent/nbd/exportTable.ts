import type { BlockDevice } from '../blockDevice';

/** A fixed set of exports, or a function asked afresh at each lookup so new disks show up live. */
export type ExportSource = Map<string, BlockDevice> | (() => Map<string, BlockDevice>);

export interface ResolvedExport {
  /** The canonical name, which differs from the requested one for the default export. */
  name: string;
  device: BlockDevice;
}

export class ExportTable {
  constructor(
    private readonly source: ExportSource,
    private readonly defaultExport?: string,
  ) {}

  names(): string[] {
    return [...this.current().keys()];
  }

  /** The empty name is the spec's "default export"; it maps to `defaultExport` when one is set. */
  resolve(requested: string): ResolvedExport | undefined {
    const exports = this.current();
    const name = requested === '' && this.defaultExport !== undefined ? this.defaultExport : requested;
    const device = exports.get(name);
    return device ? { name, device } : undefined;
  }

  private current(): Map<string, BlockDevice> {
    return typeof this.source === 'function' ? this.source() : this.source;
  }
}

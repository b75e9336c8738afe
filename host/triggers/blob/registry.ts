/**
 * The blob-triggered functions of an app, checked at startup: the path compiles, the connection
 * setting names a storage account, the source is known and no placeholder shadows a built-in
 * binding-data name (the SDK refuses such duplicates in its binding data contract).
 */
import { TidemarkError } from '../../../shared/errors';
import type { RegisteredFunction } from '../../core/coreApi';
import { functionsOfType, type HostServices, triggerBinding } from '../../plugin';
import type { StorageAccount } from '../../storage';
import { functionIdFor } from './messages';
import { type BlobPath, compileBlobPath } from './path';

export type BlobTriggerSource = 'LogsAndContainerScan' | 'EventGrid';

export interface BlobFunction {
  readonly fn: RegisteredFunction;
  readonly name: string;
  /** `Host.Functions.<name>`. */
  readonly functionId: string;
  readonly path: BlobPath;
  /** The account the blobs live in (the trigger's `connection`). */
  readonly account: StorageAccount;
  readonly source: BlobTriggerSource;
}

export const BLOB_TRIGGER_TYPES = ['blobtrigger'] as const;
const BUILT_IN = ['blobtrigger', 'uri', 'properties', 'metadata'];

export function blobFunctions(functions: RegisteredFunction[], services: HostServices): BlobFunction[] {
  return functionsOfType(functions, BLOB_TRIGGER_TYPES).map((fn) => {
    const name = fn.metadata.name;
    const { binding } = triggerBinding(fn);
    const what = `The blob trigger of "${name}"`;
    if (binding.sdkBinding === true || binding.sdkBinding === 'true') {
      throw new TidemarkError('InvalidConfig', `${what} asks for an SDK-type binding (sdkBinding).`, {
        hint: 'The local host passes blob content as a Buffer; remove sdkBinding: true.',
      });
    }
    const source = String(binding.source ?? 'LogsAndContainerScan');
    if (source !== 'LogsAndContainerScan' && source !== 'EventGrid') {
      throw new TidemarkError('InvalidConfig', `${what} has source "${source}".`, {
        hint: 'Use "LogsAndContainerScan" (the default) or "EventGrid".',
      });
    }
    const path = compileBlobPath(String(binding.path ?? ''), services.settings, what);
    const clash = path.params.find((p) => BUILT_IN.includes(p.toLowerCase()));
    if (clash) {
      throw new TidemarkError(
        'InvalidConfig',
        `${what}: the placeholder {${clash}} shadows built-in binding data.`,
        {
          hint: 'BlobTrigger, Uri, Properties and Metadata are reserved; rename the placeholder.',
        },
      );
    }
    const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
    const account = services.storage.get(connection, `blob trigger of "${name}"`);
    return { fn, name, functionId: functionIdFor(name), path, account, source };
  });
}

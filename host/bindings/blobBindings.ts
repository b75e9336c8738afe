/**
 * The `blob` binding of `input.storageBlob` and `output.storageBlob`. The path is resolved with
 * binding expressions (`%Setting%`, `{name}` or `{queueTrigger}` from the trigger's binding data,
 * `{rand-guid}`, `{DateTime}`). Input reads the blob as bytes (`dataType: 'string'` gives a string); a
 * missing blob or container gives no value, as in the real host. Output writes the function's value
 * as a block blob: a string as UTF-8, a Buffer as is, anything else as JSON; the container is created
 * when missing.
 */
import type { ContainerClient } from '@azure/storage-blob';

import { TidemarkError } from '../../shared/errors';
import type { RpcBindingInfo, RpcTypedData } from '../core/rpcTypes';
import type { BindingContext, BindingProvider } from '../plugin';
import { splitBlobPath } from '../triggers/blob/path';
import { resolveBindingExpression } from './expressions';

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

function target(binding: RpcBindingInfo, ctx: BindingContext, direction: string) {
  const name = typeof binding.name === 'string' ? binding.name : direction;
  const what = `The blob ${direction} binding "${name}" of "${ctx.functionName}"`;
  if (binding.sdkBinding === true || binding.sdkBinding === 'true') {
    throw new TidemarkError('InvalidConfig', `${what} asks for an SDK-type binding (sdkBinding).`, {
      hint: 'The local host passes blob content as a Buffer; remove sdkBinding: true.',
    });
  }
  if (typeof binding.path !== 'string' || !binding.path) {
    throw new TidemarkError('InvalidConfig', `${what} has no path.`);
  }
  const now = new Date(ctx.services.clock.now());
  const resolved = resolveBindingExpression(binding.path, ctx.bindingData, ctx.services.settings, now, what);
  const { container, blobName } = splitBlobPath(resolved, what);
  const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
  const account = ctx.services.storage.get(connection, `blob ${direction} binding "${name}"`);
  return { containerClient: account.blob.getContainerClient(container), blobName };
}

/** Bytes to write for an output value in RPC form. */
export function outputBytes(data: RpcTypedData): Buffer | undefined {
  if (data.bytes != null) return Buffer.from(data.bytes);
  if (data.stream != null) return Buffer.from(data.stream);
  if (data.string != null) return Buffer.from(data.string, 'utf8');
  if (data.json != null) return Buffer.from(data.json, 'utf8');
  if (data.int != null) return Buffer.from(String(data.int), 'utf8');
  if (data.double != null) return Buffer.from(String(data.double), 'utf8');
  return undefined;
}

async function upload(containerClient: ContainerClient, blobName: string, body: Buffer): Promise<void> {
  const blob = containerClient.getBlockBlobClient(blobName);
  try {
    await blob.uploadData(body);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    await containerClient.createIfNotExists();
    await blob.uploadData(body);
  }
}

export function createBlobBindingProvider(): BindingProvider {
  return {
    async resolveInput(binding, ctx) {
      const { containerClient, blobName } = target(binding, ctx, 'input');
      let content: Buffer;
      try {
        const res = await containerClient.getBlobClient(blobName).download();
        const chunks: Buffer[] = [];
        for await (const chunk of res.readableStreamBody ?? []) chunks.push(Buffer.from(chunk as Buffer));
        content = Buffer.concat(chunks);
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
      return binding.dataType === 'string' ? { string: content.toString('utf8') } : { bytes: content };
    },

    async writeOutput(binding, data, ctx) {
      const { containerClient, blobName } = target(binding, ctx, 'output');
      const body = outputBytes(data);
      if (body === undefined) return;
      await upload(containerClient, blobName, body);
    },
  };
}

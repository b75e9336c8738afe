/**
 * What a queue message becomes for the worker: the body as `{string}` (or `{bytes}` when the trigger
 * binding says `dataType: 'binary'`), the trigger metadata the real binding provides (QueueTrigger,
 * DequeueCount as `{int}`, ExpirationTime/InsertionTime/NextVisibleTime as ISO strings, Id, PopReceipt)
 * and binding data for `{name}` expressions: those keys plus the properties of a JSON object body,
 * which win on a name clash (SDKNET QueueTriggerBinding.CreateBindingData).
 */
import type { RpcBindingInfo, RpcTypedData } from '../../core/rpcTypes';
import type { ReceivedMessage } from './storageQueue';

export interface QueueTriggerData {
  triggerData: RpcTypedData;
  triggerMetadata: Record<string, RpcTypedData>;
  bindingData: Record<string, unknown>;
}

export function queueTriggerData(
  message: ReceivedMessage,
  body: Buffer,
  binding: RpcBindingInfo,
): QueueTriggerData {
  const text = body.toString('utf8');
  const binary = String(binding.dataType ?? '').toLowerCase() === 'binary';
  const values = {
    QueueTrigger: text,
    DequeueCount: message.dequeueCount,
    ExpirationTime: iso(message.expiresOn, MAX_DATE),
    Id: message.messageId,
    InsertionTime: iso(message.insertedOn, new Date()),
    NextVisibleTime: iso(message.nextVisibleOn, MAX_DATE),
    PopReceipt: message.popReceipt,
  };
  const triggerMetadata: Record<string, RpcTypedData> = {};
  for (const [key, value] of Object.entries(values)) {
    triggerMetadata[key] = typeof value === 'number' ? { int: value } : { string: value };
  }
  return {
    triggerData: binary ? { bytes: new Uint8Array(body) } : { string: text },
    triggerMetadata,
    bindingData: { ...values, ...jsonProperties(text) },
  };
}

const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');

/** As the real binding: a missing expiry/visibility is DateTimeOffset.MaxValue, a missing insertion time now. */
function iso(date: Date | undefined, fallback: Date): string {
  return (date && !Number.isNaN(date.getTime()) ? date : fallback).toISOString();
}

function jsonProperties(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: only the built-in binding data.
  }
  return {};
}

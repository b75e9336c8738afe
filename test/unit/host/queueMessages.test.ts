import { describe, expect, it } from 'vitest';

import { queueMessages } from '../../../host/bindings/queueOutput';
import { decodeMessageText, encodeMessageBody, isStrictBase64 } from '../../../host/triggers/queue/encoding';
import { queueTriggerData } from '../../../host/triggers/queue/metadata';
import { normalizeQueueName, poisonQueueName } from '../../../host/triggers/queue/names';
import type { ReceivedMessage } from '../../../host/triggers/queue/storageQueue';
import { isTidemarkError } from '../../../shared/errors';

describe('message encoding', () => {
  it('accepts only strict Base64 (whitespace ignored, padding at the end)', () => {
    expect(isStrictBase64('aGVsbG8=')).toBe(true);
    expect(isStrictBase64('aGVs\nbG8=')).toBe(true);
    expect(isStrictBase64('')).toBe(true);
    expect(isStrictBase64('hello world')).toBe(false);
    expect(isStrictBase64('aGVsbG8')).toBe(false); // length not a multiple of 4
    expect(isStrictBase64('aG=sbG8=')).toBe(false);
    expect(isStrictBase64('{"a":1}')).toBe(false);
  });

  it('decodes and encodes under base64 and none', () => {
    const decoded = decodeMessageText(encodeMessageBody('héllo', 'base64'), 'base64');
    expect(decoded.ok && decoded.bytes.toString('utf8')).toBe('héllo');
    expect(decodeMessageText('plain', 'base64')).toMatchObject({ ok: false });
    const plain = decodeMessageText('plain', 'none');
    expect(plain.ok && plain.bytes.toString()).toBe('plain');
    expect(encodeMessageBody('plain', 'none')).toBe('plain');
    expect(encodeMessageBody(new Uint8Array([0, 255]), 'base64')).toBe('AP8=');
  });
});

describe('queue names', () => {
  it('lower-cases and validates', () => {
    expect(normalizeQueueName('Orders-In', 'x')).toBe('orders-in');
    for (const bad of ['ab', 'a--b', '-abc', 'abc-', 'a_b', 'x'.repeat(64)]) {
      let error: unknown;
      try {
        normalizeQueueName(bad, 'The queue trigger of function "f"');
      } catch (err) {
        error = err;
      }
      expect(isTidemarkError(error, 'InvalidConfig'), bad).toBe(true);
    }
  });

  it('has a poison queue unless the name ends in -poison or would grow too long', () => {
    expect(poisonQueueName('orders')).toBe('orders-poison');
    expect(poisonQueueName('orders-poison')).toBeUndefined();
    expect(poisonQueueName('x'.repeat(60))).toBeUndefined();
  });
});

describe('trigger data', () => {
  const message: ReceivedMessage = {
    messageId: 'id-1',
    popReceipt: 'pop-1',
    messageText: 'ignored here',
    dequeueCount: 2,
    insertedOn: new Date('2026-01-01T00:00:00Z'),
    expiresOn: new Date('2026-01-08T00:00:00Z'),
    nextVisibleOn: new Date('2026-01-01T00:10:00Z'),
  };

  it('sends the body as {string} and the metadata keys of the real binding', () => {
    const body = Buffer.from('{"orderId":"o1","Id":"mine"}');
    const data = queueTriggerData(message, body, { type: 'queueTrigger', direction: 'in' });
    expect(data.triggerData).toEqual({ string: '{"orderId":"o1","Id":"mine"}' });
    expect(data.triggerMetadata).toEqual({
      QueueTrigger: { string: '{"orderId":"o1","Id":"mine"}' },
      DequeueCount: { int: 2 },
      ExpirationTime: { string: '2026-01-08T00:00:00.000Z' },
      Id: { string: 'id-1' },
      InsertionTime: { string: '2026-01-01T00:00:00.000Z' },
      NextVisibleTime: { string: '2026-01-01T00:10:00.000Z' },
      PopReceipt: { string: 'pop-1' },
    });
    // Payload properties join the binding data and win on a clash.
    expect(data.bindingData).toMatchObject({ orderId: 'o1', Id: 'mine', DequeueCount: 2 });
  });

  it('sends bytes for dataType binary', () => {
    const data = queueTriggerData(message, Buffer.from([1, 2]), { type: 'queueTrigger', dataType: 'binary' });
    expect(data.triggerData).toEqual({ bytes: new Uint8Array([1, 2]) });
  });
});

describe('queue output values', () => {
  it('turns strings, objects, bytes, numbers and arrays into messages', () => {
    expect(queueMessages({ string: 'hi' }, 'o')).toEqual(['hi']);
    expect(queueMessages({ json: '{"a":1}' }, 'o')).toEqual(['{"a":1}']);
    expect(queueMessages({ json: '["x",{"a":1},2]' }, 'o')).toEqual(['x', '{"a":1}', '2']);
    expect(queueMessages({ int: 5 }, 'o')).toEqual(['5']);
    expect(queueMessages({ bytes: new Uint8Array([1]) }, 'o')).toEqual([new Uint8Array([1])]);
  });

  it('refuses null elements', () => {
    expect(() => queueMessages({ json: '["a",null]' }, 'Queue output "o"')).toThrow(/element 1 is null/);
  });
});

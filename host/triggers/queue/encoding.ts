/**
 * Queue message bodies under `extensions.queues.messageEncoding`. With `base64` (the default) the
 * text stored in the queue is the Base64 of the UTF-8 body, as Azure.Storage.Queues writes it; with
 * `none` the body is stored as it is. Decoding is strict like .NET's Convert.FromBase64String
 * (whitespace ignored, length a multiple of 4, padding only at the end), so a plain-text message in a
 * base64 queue is recognised as undecodable instead of being silently mangled.
 */

export type MessageEncoding = 'base64' | 'none';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function isStrictBase64(text: string): boolean {
  const compact = text.replace(/[\t\n\r ]/g, '');
  return compact.length % 4 === 0 && BASE64.test(compact);
}

export type DecodedBody = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/** The body bytes of a received message's text. */
export function decodeMessageText(text: string, encoding: MessageEncoding): DecodedBody {
  if (encoding === 'none') return { ok: true, bytes: Buffer.from(text, 'utf8') };
  if (!isStrictBase64(text)) {
    return { ok: false, reason: 'the message text is not valid Base64 but the queue encoding is base64' };
  }
  return { ok: true, bytes: Buffer.from(text.replace(/[\t\n\r ]/g, ''), 'base64') };
}

/** The text to store for a body under `encoding`. */
export function encodeMessageBody(body: string | Uint8Array, encoding: MessageEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

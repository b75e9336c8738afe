/**
 * What the parts of the fake Resource Manager (../fakeArm.ts) share: the recorded request, the answer,
 * ARM's error shape, and resource ids taken apart the way the fake stores them (lower-cased).
 */
export type Json = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  /** The path as sent (not lower-cased). */
  path: string;
  query: Record<string, string>;
  ifMatch?: string;
  ifNoneMatch?: string;
  authorization?: string;
  body?: unknown;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** ARM's error answer: `{error: {code, message}}`. */
export function armErrorResponse(status: number, code: string, message: string): FakeResponse {
  return { status, body: { error: { code, message } } };
}

/** `namespace/type` of a resource id, lower-cased (`resourcegroups` for a group, '' otherwise). */
export function typeOf(id: string): string {
  const m = /\/providers\/([^/]+\/[^/]+)\/[^/]+$/i.exec(id);
  return m ? m[1]!.toLowerCase() : /\/resourcegroups\/[^/]+$/i.test(id) ? 'resourcegroups' : '';
}

export function groupOf(id: string): string | undefined {
  return /\/resourcegroups\/([^/]+)/i.exec(id)?.[1]?.toLowerCase();
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** ARM's canonical location (`East US` → `eastus`). */
export function regionKey(location: unknown): string {
  return String(location ?? '')
    .toLowerCase()
    .replace(/\s+/g, '');
}

/** Entity instance ids are `@<name lower-cased>@<key>` (DF EntityId). */

export interface EntityRef {
  name: string;
  key: string;
}

export function entityInstanceId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

export function isEntityInstance(instanceId: string): boolean {
  return instanceId.startsWith('@') && instanceId.indexOf('@', 1) > 0;
}

export function parseEntityInstanceId(instanceId: string): EntityRef {
  const at = instanceId.indexOf('@', 1);
  return { name: instanceId.slice(1, at), key: instanceId.slice(at + 1) };
}

/** An operation request as it travels to an entity (EXT RequestMessage). */
export interface EntityRequest {
  op: string;
  id: string;
  signal?: boolean;
  /** Operation input as JSON text. */
  input?: string;
  parent?: string;
  parentExecution?: string;
}

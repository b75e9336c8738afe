/**
 * Host keys. The default function key and the master key come from the settings
 * TIDEMARK_FUNCTION_KEY / TIDEMARK_MASTER_KEY when set; otherwise they are generated once and kept in
 * the host's data folder so they survive restarts. System keys (e.g. `durabletask_extension`) are
 * generated per extension the same way. Comparison is constant-time. Every key is registered with
 * the loggers' redaction (shared/logger.ts), so no log line of this process shows one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { registerSecret } from '../shared/logger';
import type { Settings } from './settings';

interface KeyFile {
  functionKey: string;
  masterKey: string;
  systemKeys: Record<string, string>;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin' | 'system';

export class HostKeys {
  readonly generated: boolean;
  #file: KeyFile;

  private constructor(
    private readonly keyPath: string,
    file: KeyFile,
    generated: boolean,
  ) {
    this.#file = file;
    this.generated = generated;
  }

  static load(dataDir: string, settings: Settings): HostKeys {
    const keyPath = path.join(dataDir, 'keys.json');
    let stored: Partial<KeyFile> = {};
    if (fs.existsSync(keyPath)) {
      try {
        stored = JSON.parse(fs.readFileSync(keyPath, 'utf8')) as Partial<KeyFile>;
      } catch {
        stored = {};
      }
    }
    let generated = false;
    const make = (): string => {
      generated = true;
      return newKey();
    };
    const file: KeyFile = {
      functionKey: stored.functionKey ?? make(),
      masterKey: stored.masterKey ?? make(),
      systemKeys: stored.systemKeys ?? {},
    };
    const keys = new HostKeys(keyPath, file, generated);
    if (generated) keys.save();
    const fromSettings = {
      fn: settings.get('TIDEMARK_FUNCTION_KEY'),
      master: settings.get('TIDEMARK_MASTER_KEY'),
    };
    if (fromSettings.fn) keys.#file = { ...keys.#file, functionKey: fromSettings.fn };
    if (fromSettings.master) keys.#file = { ...keys.#file, masterKey: fromSettings.master };
    for (const key of [keys.functionKey, keys.masterKey, ...Object.values(keys.#file.systemKeys)]) {
      registerSecret(key);
    }
    return keys;
  }

  get functionKey(): string {
    return this.#file.functionKey;
  }

  get masterKey(): string {
    return this.#file.masterKey;
  }

  /** A named system key (e.g. for an extension's webhooks), created on first use. */
  systemKey(name: string): string {
    let key = this.#file.systemKeys[name];
    if (!key) {
      key = newKey();
      registerSecret(key);
      this.#file = { ...this.#file, systemKeys: { ...this.#file.systemKeys, [name]: key } };
      this.save();
    }
    return key;
  }

  /** Whether `presented` grants `level`: the master key grants everything. */
  authorize(level: AuthLevel, presented: string | undefined, systemKeyName?: string): boolean {
    if (level === 'anonymous') return true;
    if (!presented) return false;
    if (safeEqual(presented, this.masterKey)) return true;
    if (level === 'function') return safeEqual(presented, this.functionKey);
    if (level === 'system' && systemKeyName) return safeEqual(presented, this.systemKey(systemKeyName));
    return false;
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.keyPath), { recursive: true });
    fs.writeFileSync(this.keyPath, JSON.stringify(this.#file, null, 2) + '\n', { mode: 0o600 });
  }
}

function newKey(): string {
  return crypto.randomBytes(30).toString('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

import { afterEach, describe, expect, it } from 'vitest';
import { checkTools, findTool, nbdUri } from '../../helpers/nbdTools';

describe('nbdTools', () => {
  const saved = { PATH: process.env.PATH, CI: process.env.CI };
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.CI === undefined) delete process.env.CI;
    else process.env.CI = saved.CI;
  });

  it('finds executables on PATH only', () => {
    expect(findTool('sh')).toMatch(/\/sh$/);
    expect(findTool('tidemark-no-such-tool')).toBeUndefined();
  });

  it('skips with the apt packages to install when a tool is missing locally', () => {
    process.env.PATH = '';
    delete process.env.CI;
    const check = checkTools('qemu-io', 'nbdcopy', 'nbdinfo');
    expect(check.skip).toBe(true);
    expect(check.note).toBe(
      ' (skipped: missing qemu-io, nbdcopy, nbdinfo: apt-get install -y qemu-utils libnbd-bin)',
    );
  });

  it('fails instead of skipping on CI', () => {
    process.env.PATH = '';
    process.env.CI = 'true';
    const check = checkTools('fio');
    expect(check.skip).toBe(false);
    expect(() => check.assertAvailable()).toThrow(/required on CI: missing fio: apt-get install -y fio/);
  });

  it('builds nbd:// URIs with encoded export names', () => {
    expect(nbdUri(10809, 'vm 1/os')).toBe('nbd://127.0.0.1:10809/vm%201%2Fos');
    expect(nbdUri(10809)).toBe('nbd://127.0.0.1:10809/');
  });
});

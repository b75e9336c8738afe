import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import { checkName, checkVmSize, describeRule, nameMessage, nameProblem } from '../../../shared/fabric/names';

function rejects(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidArgument')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidArgument error');
}

describe('Azure naming rules', () => {
  it.each([
    ['resourceGroup', 'demo-rg'],
    ['resourceGroup', 'My_Group.(prod)'],
    ['resourceGroup', 'gruppe-ü'],
    ['resourceGroup', 'x'.repeat(90)],
    ['virtualMachine', 'web1'],
    ['virtualMachine', 'web_1.internal'],
    ['virtualMachine', 'x'.repeat(64)],
    ['virtualNetwork', 'demo-vnet'],
    ['virtualNetwork', 'v_'],
    ['subnet', 'w'],
    ['networkInterface', 'web1-nic'],
    ['availabilitySet', 'demo-avset'],
    ['disk', 'os'],
    ['disk', 'data.1_x'],
    ['storageAccount', 'tidemarkcache01'],
  ] as const)('accepts %s %j', (kind, name) => {
    expect(nameProblem(kind, name)).toBeUndefined();
    expect(checkName(kind, name)).toBe(name);
  });

  it.each([
    ['resourceGroup', '', 'is 0 characters long'],
    ['resourceGroup', 'x'.repeat(91), 'is 91 characters long'],
    ['resourceGroup', 'rg.', 'ends with "."'],
    ['resourceGroup', 'a/b', 'contains "/"'],
    ['resourceGroup', 'a b', 'contains " "'],
    ['virtualMachine', '_web', 'starts with "_"'],
    ['virtualMachine', 'web-', 'ends with "-"'],
    ['virtualMachine', 'web.', 'ends with "."'],
    ['virtualMachine', 'x'.repeat(65), 'is 65 characters long'],
    ['virtualMachine', 'wéb', 'contains "é"'],
    ['virtualNetwork', 'v', 'is 1 character long'],
    ['virtualNetwork', '-vnet', 'starts with "-"'],
    ['virtualNetwork', 'vnet.', 'ends with "."'],
    ['subnet', 'x'.repeat(81), 'is 81 characters long'],
    ['availabilitySet', 'set-', 'ends with "-"'],
    ['disk', 'os#1', 'contains "#"'],
    ['storageAccount', 'Cache01', 'contains "C"'],
    ['storageAccount', 'ab', 'is 2 characters long'],
  ] as const)('refuses %s %j: it %s', (kind, name, problem) => {
    expect(nameProblem(kind, name)).toBe(`it ${problem}`);
    const message = rejects(() => checkName(kind, name));
    expect(message).toContain(`it ${problem}`);
    expect(message).toContain(`Rule: ${describeRule(kind)}.`);
  });

  it('says the rule in words', () => {
    expect(describeRule('virtualNetwork')).toBe(
      '2–64 characters: letters, digits, underscores, periods and hyphens; start with a letter or digit; end with a letter, digit or underscore',
    );
    expect(nameMessage('resourceGroup', 'rg.')).toBe(
      'Resource group name "rg." is not valid: it ends with ".". Rule: 1–90 characters: letters, digits, underscores, periods, hyphens and parentheses; not end with a period.',
    );
  });

  it('checks VM sizes', () => {
    expect(checkVmSize('Standard_D4s_v5')).toBe('Standard_D4s_v5');
    expect(checkVmSize('Basic_A0')).toBe('Basic_A0');
    expect(rejects(() => checkVmSize('D4s_v5'))).toContain('Standard_B2s');
    rejects(() => checkVmSize('Standard_'));
  });
});

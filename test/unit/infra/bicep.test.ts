import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { checkBicepFile, checkBicepProject, parseBicep, tokenize } from '../../helpers/bicep';

const ROOT = path.join(__dirname, '../../..');
const MAIN = path.join(ROOT, 'infra/main.bicep');
const PARAMETERS = path.join(ROOT, 'infra/main.parameters.json');

/** Problems of one Bicep text on its own. */
const problemsOf = (text: string): string[] => checkBicepFile(parseBicep(text, 'sample.bicep'));

describe('infra/ is well-formed (without the Bicep CLI)', () => {
  const result = checkBicepProject(MAIN, PARAMETERS);

  it('has no problems in main.bicep, its modules and the parameters file', () => {
    expect(result.problems).toEqual([]);
  });

  it('reaches every module under infra/modules', () => {
    const modules = fs
      .readdirSync(path.join(ROOT, 'infra/modules'))
      .filter((f) => f.endsWith('.bicep'))
      .map((f) => path.join(ROOT, 'infra/modules', f));
    expect(result.files.sort()).toEqual([MAIN, ...modules].sort());
  });

  it('targets the subscription and keeps 2-space indentation', () => {
    const text = fs.readFileSync(MAIN, 'utf8');
    expect(text).toMatch(/^targetScope = 'subscription'$/m);
    for (const file of result.files) {
      for (const [n, line] of fs.readFileSync(file, 'utf8').split('\n').entries()) {
        const indent = /^ */.exec(line)![0].length;
        expect(indent % 2, `${file}:${n + 1}`).toBe(0);
        expect(line, `${file}:${n + 1}`).not.toMatch(/\t|\s+$/);
      }
    }
  });

  it('declares a description for every param', () => {
    for (const file of result.files) {
      const parsed = parseBicep(fs.readFileSync(file, 'utf8'), file);
      for (const p of parsed.params.values()) {
        expect(p.decorators, `${file}:${p.line} ${p.name}`).toContain('description');
      }
    }
  });
});

describe('the Bicep checker', () => {
  it('accepts nested interpolations, escapes, comments and multi-line strings', () => {
    const text = [
      "@description('It\\'s a name')",
      'param name string',
      "var a = '${name}-${toLower('${name}x')}' // comment with ' and {",
      "/* block { ' */ var b = '''",
      "raw ${ not interpolated ' ",
      "'''",
      "output o string = '${a}${b}'",
    ].join('\n');
    expect(tokenize(text).problems).toEqual([]);
    expect(problemsOf(text)).toEqual([]);
  });

  it('finds unbalanced brackets, unclosed strings and interpolations', () => {
    expect(tokenize('var a = {\n  b: [1, 2\n}\n').problems.join('\n')).toMatch(/'}' closes '\['/);
    expect(tokenize('var a = (1\n').problems.join('\n')).toMatch(/'\(' not closed/);
    expect(tokenize('var a = 1)\n').problems.join('\n')).toMatch(/'\)' closes nothing/);
    expect(tokenize("var a = 'abc\nvar b = 1\n").problems.join('\n')).toMatch(/string not closed/);
    expect(tokenize("var a = '${b'\n").problems.join('\n')).toMatch(/string not closed|not closed/);
    expect(tokenize("var a = '${b \n").problems.join('\n')).toMatch(/interpolation not closed/);
    expect(tokenize("var a = '''abc\n").problems.join('\n')).toMatch(/''' string not closed/);
    expect(tokenize('/* abc\n').problems.join('\n')).toMatch(/comment not closed/);
  });

  it('finds undeclared names, unknown functions, unused params and vars', () => {
    const problems = problemsOf(
      [
        "@description('x')",
        'param used string',
        "@description('y')",
        'param unused string',
        "var v = '${used}${missing}'",
        'var w = lowerCase(used)',
        'output o string = v',
      ].join('\n'),
    );
    expect(problems.join('\n')).toMatch(/'missing' is not declared/);
    expect(problems.join('\n')).toMatch(/'lowerCase\(' is not a Bicep function/);
    expect(problems.join('\n')).toMatch(/param 'unused' is declared but not used/);
    expect(problems.join('\n')).toMatch(/var 'w' is declared but not used/);
    expect(problems.join('\n')).not.toMatch(/'used'/);
  });

  it('knows object keys, property access, loops and ternaries apart from references', () => {
    const text = [
      "@description('x')",
      'param items array',
      "@description('y')",
      'param flag bool',
      "resource r 'Microsoft.Storage/storageAccounts@2023-05-01' = [",
      '  for (item, i) in items: {',
      "    name: '${item}${i}'",
      '    location: flag ? item : resourceGroup().location',
      '    properties: { accessTier: r[0].properties.accessTier }',
      '  }',
      ']',
    ].join('\n');
    expect(problemsOf(text)).toEqual([]);
  });

  it('wants an api version on every resource type', () => {
    expect(
      problemsOf("resource r 'Microsoft.Storage/storageAccounts' = {\n  name: 'x'\n}\n").join('\n'),
    ).toMatch(/has no @api-version/);
    expect(problemsOf("resource r 'containers' = {\n  name: 'x'\n}\n").join('\n')).toMatch(
      /has no @api-version/,
    );
  });

  it('keeps secrets out of outputs', () => {
    const problems = problemsOf(
      [
        "resource s 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {",
        "  name: 'x'",
        '}',
        '@secure()',
        "@description('z')",
        'param secret string',
        'output key string = s.listKeys().keys[0].value',
        'output leak string = secret',
      ].join('\n'),
    );
    expect(problems.join('\n')).toMatch(/output 'key' calls listKeys\(\)/);
    expect(problems.join('\n')).toMatch(/output 'leak' uses the @secure\(\) param 'secret'/);
  });

  describe('across files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bicep-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string): string => {
      const file = path.join(dir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      return file;
    };

    it('checks module paths and the params modules are given', () => {
      write(
        'modules/m.bicep',
        "@description('a')\nparam needed string\n@description('b')\nparam optional int = 1\noutput o string = '${needed}${optional}'\n",
      );
      const main = write(
        'main.bicep',
        [
          "module ok 'modules/m.bicep' = {",
          "  name: 'ok'",
          '  params: {',
          "    needed: 'x'",
          '  }',
          '}',
          "module bad 'modules/m.bicep' = {",
          "  name: 'bad'",
          '  params: {',
          '    optional: 2',
          "    typo: 'x'",
          '  }',
          '}',
          "module gone 'modules/missing.bicep' = {",
          "  name: 'gone'",
          '}',
        ].join('\n'),
      );
      const problems = checkBicepProject(main).problems.join('\n');
      expect(problems).toMatch(/module 'bad' is given 'typo', which modules\/m.bicep does not declare/);
      expect(problems).toMatch(/module 'bad' is not given 'needed'/);
      expect(problems).toMatch(/module 'gone' path 'modules\/missing.bicep' does not exist/);
      expect(problems).not.toMatch(/module 'ok'/);
    });

    it('checks a parameters file against the template', () => {
      const main = write(
        'p.bicep',
        "@description('a')\nparam required string\n@description('b')\nparam optional string = 'x'\noutput o string = '${required}${optional}'\n",
      );
      const parameters = write(
        'p.parameters.json',
        JSON.stringify({ parameters: { optional: { value: 'y' }, extra: { value: 1 } } }),
      );
      const problems = checkBicepProject(main, parameters).problems.join('\n');
      expect(problems).toMatch(/'extra' is not a param/);
      expect(problems).toMatch(/required param 'required' is missing/);
    });
  });
});

/**
 * Keeps docs/FORMAT.md and docs/format.schema.json in step with the code: every error code is
 * documented, and the schema's dtype list and layer-spec keys match the tables the readers use.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FORMAT_ERROR_CODES } from '../../../shared/format/errors.ts';
import { DTYPES } from '../../../shared/format/dtypes.ts';
import { LAYER_SPEC_KEYS } from '../../../shared/format/layer-spec.ts';
import { MAX_HEADER_BYTES } from '../../../shared/format/safetensors-header.ts';
import { MAX_JSON_DEPTH } from '../../../shared/format/json-strict.ts';
import { REPO_ROOT } from '../../helpers/shared-data.ts';

const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'FORMAT.md'), 'utf8');
const schema = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs', 'format.schema.json'), 'utf8'));

describe('docs/FORMAT.md and docs/format.schema.json', () => {
  it('document every error code in the table', () => {
    for (const code of Object.keys(FORMAT_ERROR_CODES)) expect(doc, code).toContain(`| \`${code}\` |`);
  });

  it('have a unit test that builds a bad input for every error code', () => {
    const dir = path.join(REPO_ROOT, 'test', 'shared', 'format');
    const tests = readdirSync(dir).filter((f) => f.endsWith('.test.ts') && f !== 'fuzz.test.ts' && f !== 'docs-sync.test.ts')
      .map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    const untested = Object.keys(FORMAT_ERROR_CODES).filter((code) => !tests.includes(`'${code}'`));
    expect(untested).toEqual([]);
  });

  it('state the limits the code enforces', () => {
    expect(doc).toContain(MAX_HEADER_BYTES.toLocaleString('en-US'));
    expect(doc).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  it('list the same dtypes and layer-spec keys as the code', () => {
    expect(schema.$defs.dtype.enum).toEqual(Object.keys(DTYPES));
    expect([...schema.$defs.layerSpec.required].sort()).toEqual([...LAYER_SPEC_KEYS].sort());
    expect(Object.keys(schema.$defs.layerSpec.properties).sort()).toEqual([...LAYER_SPEC_KEYS].sort());
  });
});

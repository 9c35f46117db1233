import { describe, expect, it } from 'vitest';
import { parseModelRef, parseRepoSpec } from '../../../shared/hub/parse-model-ref.ts';

describe('parseModelRef', () => {
  it('reads hf:// refs with and without a revision', () => {
    expect(parseModelRef('hf://alice/tiny-w4a8')).toEqual({ kind: 'hub', repo: 'alice/tiny-w4a8', revision: undefined });
    expect(parseModelRef('hf://alice/tiny.v2@main')).toEqual({ kind: 'hub', repo: 'alice/tiny.v2', revision: 'main' });
    expect(parseModelRef('hf://org/m@refs/pr/3')).toEqual({ kind: 'hub', repo: 'org/m', revision: 'refs/pr/3' });
  });

  it('treats everything else as a local folder', () => {
    expect(parseModelRef('./models/tiny')).toEqual({ kind: 'local', dir: './models/tiny' });
    expect(parseModelRef('alice/tiny')).toEqual({ kind: 'local', dir: 'alice/tiny' });
  });

  it('rejects malformed repo ids and revisions, naming them', () => {
    for (const bad of ['hf://alice', 'hf://a/b/c', 'hf://-a/b', 'hf://a/b.git', 'hf://a--b/c', 'hf://a/b c']) {
      expect(() => parseModelRef(bad), bad).toThrow(/is not a Hub repo id/);
    }
    expect(() => parseRepoSpec('alice/tiny@')).toThrow(/'' is not a valid revision/);
    expect(() => parseRepoSpec('alice/tiny@../x')).toThrow(/not a valid revision/);
  });
});

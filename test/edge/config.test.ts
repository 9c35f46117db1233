import { describe, expect, it } from 'vitest';
import { parseEdgeConfig, parseNodes, parseApiKeys } from '../../edge/config.ts';

describe('edge configuration', () => {
  it('parses nodes as JSON or id=url lists, and keys as name:key lists', () => {
    expect(parseNodes('a=http://10.0.0.1:8081/,b=https://n2.example')).toEqual([{ id: 'a', url: 'http://10.0.0.1:8081', models: undefined }, { id: 'b', url: 'https://n2.example', models: undefined }]);
    expect(parseNodes('[{"id":"x","url":"http://h:1","models":["m"]}]')).toEqual([{ id: 'x', url: 'http://h:1', models: ['m'] }]);
    expect(parseApiKeys('alice:sk-aaaaaaaaaa, sk-bbbbbbbbbb')).toEqual([{ name: 'alice', key: 'sk-aaaaaaaaaa' }, { name: 'key1', key: 'sk-bbbbbbbbbb' }]);
  });

  it('names the bad variable and the fix', () => {
    expect(() => parseNodes('[{"url":"ftp://x"}]')).toThrow(/ABQ_NODES\[0\]\.url/);
    expect(() => parseApiKeys('short')).toThrow(/shorter than 8/);
    expect(() => parseEdgeConfig({ ABQ_NODES: 'a=http://h:1' })).toThrow(/ABQ_NODE_SECRET/);
    expect(() => parseEdgeConfig({ ABQ_MAX_BODY_BYTES: '12' })).toThrow(/ABQ_MAX_BODY_BYTES="12" is not an integer in \[1024/);
    expect(() => parseEdgeConfig({ ABQ_ALLOW_REGISTRATION: 'maybe' })).toThrow(/use true or false/);
  });
});

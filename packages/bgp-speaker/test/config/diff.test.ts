// diffConfig: what a SIGHUP reload must do per peer (reset, route refresh, nothing).
import { describe, expect, it } from 'vitest';
import { type BgpdConfig, diffConfig, formatConfigIssue, parseConfig } from '../../src/config/index.js';

function config(text: string): BgpdConfig {
  const result = parseConfig(text, 'test.yaml');
  if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
  return result.config;
}

const head = 'asNumber: 64512\nrouterId: 10.0.0.1\n';
const policy = `policy:
  filters:
    f1: [{ match: { family: ipv4-unicast }, then: { action: accept } }]
    f2: [{ match: {}, then: { action: reject } }]
`;
const peers = (a: string, b = '') => `peers:
  - { name: a, address: 10.0.0.2, asNumber: 64513${a} }
  - { name: b, address: 10.0.0.3, asNumber: 64514, import: f2${b} }
`;

describe('diffConfig', () => {
  it('identical configurations change nothing', () => {
    const c = config(head + policy + peers(''));
    expect(diffConfig(c, c)).toEqual({
      peersAdded: [],
      peersRemoved: [],
      peersChanged: [],
      peersUnchanged: ['a', 'b'],
      globalChanged: [],
    });
  });

  it('added and removed peers', () => {
    const before = config(`${head}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1 }\n`);
    const after = config(`${head}peers:\n  - { name: c, address: 10.0.0.4, asNumber: 1 }\n`);
    const diff = diffConfig(before, after);
    expect(diff.peersAdded).toEqual(['c']);
    expect(diff.peersRemoved).toEqual(['a']);
  });

  it.each([
    [', holdTime: 30', 'reset', ['holdTime', 'keepaliveTime']],
    [', port: 1179', 'reset', ['port']],
    [', families: [ipv6-unicast]', 'reset', ['families']],
    [', addPath: { send: true }', 'reset', ['addPath']],
    [', export: f1', 'refresh', ['export']],
    [', nextHop: self', 'refresh', ['nextHop']],
    [', maxPrefix: { limit: 100 }', 'refresh', ['maxPrefix']],
    [', connectRetryTime: 30', 'none', ['connectRetryTime']],
  ] as const)('peer change%s → %s', (change, impact, fields) => {
    const diff = diffConfig(config(head + policy + peers('')), config(head + policy + peers(change)));
    expect(diff.peersChanged).toEqual([{ name: 'a', impact, fields }]);
    expect(diff.peersUnchanged).toEqual(['b']);
  });

  it('a changed filter refreshes only the peers using it', () => {
    const changed = policy.replace('then: { action: reject }', 'then: { action: accept }');
    const diff = diffConfig(config(head + policy + peers('')), config(head + changed + peers('')));
    expect(diff.globalChanged).toEqual(['policy']);
    expect(diff.peersChanged).toEqual([{ name: 'b', impact: 'refresh', fields: ['global.policy'] }]);
    expect(diff.peersUnchanged).toEqual(['a']);
  });

  it('a new router id resets every session', () => {
    const diff = diffConfig(
      config(head + policy + peers('')),
      config(head.replace('10.0.0.1', '10.0.0.9') + policy + peers('')),
    );
    expect(diff.peersChanged.map((c) => [c.name, c.impact])).toEqual([
      ['a', 'reset'],
      ['b', 'reset'],
    ]);
  });

  it('global settings that no session carries change no peer', () => {
    const diff = diffConfig(
      config(head + policy + peers('')),
      config(`${head}logLevel: debug\nmetrics: { port: 9100 }\n${policy}${peers('')}`),
    );
    expect(diff.globalChanged).toEqual(['logLevel', 'metrics']);
    expect(diff.peersChanged).toEqual([]);
  });
});

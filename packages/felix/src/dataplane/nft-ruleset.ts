// NAT outgoing as an nftables ruleset (pure): workloads in a natOutgoing pool are masqueraded when the
// destination is outside every pool, as Calico does. Rendered as one atomic batch that recreates Felix's
// own table, and a fingerprint of what the table must contain, to detect drift cheaply.

import type { NatOutgoing } from '../calc/graph.js';

export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'caracal';

interface PoolSets {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

function split(cidrs: readonly string[]): PoolSets {
  return { v4: cidrs.filter((c) => !c.includes(':')), v6: cidrs.filter((c) => c.includes(':')) };
}

function element(cidr: string): object {
  const [addr, len] = cidr.split('/') as [string, string];
  return { prefix: { addr, len: Number(len) } };
}

/** The batch that (re)creates table `inet caracal` with the NAT-outgoing sets and rule. */
export function natRuleset(nat: NatOutgoing): object[] {
  const table = { family: NFT_FAMILY, name: NFT_TABLE };
  const all = split(nat.allPools);
  const masquerade = split(nat.masqueradePools);
  const commands: object[] = [
    // add+delete+add: atomic replacement whether or not the table exists.
    { add: { table } },
    { delete: { table } },
    { add: { table } },
  ];
  const sets: [string, 'ipv4_addr' | 'ipv6_addr', readonly string[]][] = [
    ['all-pools-v4', 'ipv4_addr', all.v4],
    ['all-pools-v6', 'ipv6_addr', all.v6],
    ['masq-pools-v4', 'ipv4_addr', masquerade.v4],
    ['masq-pools-v6', 'ipv6_addr', masquerade.v6],
  ];
  for (const [name, type, cidrs] of sets) {
    commands.push({
      add: { set: { family: NFT_FAMILY, table: NFT_TABLE, name, type, flags: ['interval'] } },
    });
    if (cidrs.length > 0) {
      commands.push({
        add: { element: { family: NFT_FAMILY, table: NFT_TABLE, name, elem: cidrs.map(element) } },
      });
    }
  }
  commands.push({
    add: {
      chain: {
        family: NFT_FAMILY,
        table: NFT_TABLE,
        name: 'nat-postrouting',
        type: 'nat',
        hook: 'postrouting',
        prio: 100,
        policy: 'accept',
      },
    },
  });
  for (const [protocol, suffix] of [
    ['ip', 'v4'],
    ['ip6', 'v6'],
  ] as const) {
    commands.push({
      add: {
        rule: {
          family: NFT_FAMILY,
          table: NFT_TABLE,
          chain: 'nat-postrouting',
          comment: `caracal: nat outgoing ${suffix}`,
          expr: [
            {
              match: {
                op: '==',
                left: { payload: { protocol, field: 'saddr' } },
                right: `@masq-pools-${suffix}`,
              },
            },
            {
              match: {
                op: '!=',
                left: { payload: { protocol, field: 'daddr' } },
                right: `@all-pools-${suffix}`,
              },
            },
            { masquerade: null },
          ],
        },
      },
    });
  }
  return commands;
}

/**
 * What must be in the table, independent of handles and listing order: set names with their elements, and
 * rule comments. Compared with the same fingerprint of `nft -j list table` to detect drift.
 */
export function natFingerprint(objects: readonly object[]): string {
  const parts: string[] = [];
  for (const object of objects) {
    const [kind, body] = Object.entries(object)[0] as [string, Record<string, unknown>];
    if (kind === 'set') {
      const elements = ((body.elem as unknown[] | undefined) ?? []).map((e) => JSON.stringify(e)).sort();
      parts.push(`set ${String(body.name)} ${elements.join(',')}`);
    } else if (kind === 'element') {
      parts.push(`elements ${String(body.name)}`);
    } else if (kind === 'rule') {
      parts.push(`rule ${String(body.chain)} ${String(body.comment)}`);
    } else if (kind === 'chain') {
      parts.push(`chain ${String(body.name)} ${String(body.hook)}`);
    }
  }
  return parts.sort().join('\n');
}

/** The fingerprint the listing of a correctly programmed table has. */
export function expectedNatFingerprint(nat: NatOutgoing): string {
  // Rebuild the objects as `nft -j list` shows them: sets carry their elements inline.
  const listed: object[] = [];
  const elementsBySet = new Map<string, object[]>();
  const commands = natRuleset(nat);
  for (const command of commands) {
    const add = (command as { add?: Record<string, Record<string, unknown>> }).add;
    if (add?.element) elementsBySet.set(String(add.element.name), add.element.elem as object[]);
  }
  for (const command of commands) {
    const add = (command as { add?: Record<string, Record<string, unknown>> }).add;
    if (!add) continue;
    const [kind, body] = Object.entries(add)[0]!;
    if (kind === 'set') {
      const elem = elementsBySet.get(String(body.name));
      listed.push({ set: elem ? { ...body, elem } : body });
    } else if (kind === 'chain' || kind === 'rule') listed.push({ [kind]: body });
  }
  return natFingerprint(listed);
}

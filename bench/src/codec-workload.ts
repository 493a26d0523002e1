// The codec bench's route workload, shared by codec.bench.ts and codec-profile.ts so the profile looks at
// exactly what the bench times: `count` IPv4 /32s from 10.0.0.0, and the attribute set of one route
// (ORIGIN IGP, AS_PATH 65001, NEXT_HOP 10.255.0.2, its MED and COMMUNITY 65000:community).
import type { BgpPathAttribute, BgpPrefix } from '@caracal/bgp-speaker';

export function benchPrefixes(count: number): BgpPrefix[] {
  const list: BgpPrefix[] = [];
  for (let i = 0; i < count; i++) list.push({ afi: 1, address: (0x0a000000 + i) >>> 0, length: 32 });
  return list;
}

export function benchAttributes(med: number, community: number): BgpPathAttribute[] {
  return [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
    { kind: 'next-hop', address: 0x0aff0002 },
    { kind: 'med', value: med },
    { kind: 'communities', values: [65000 * 65536 + community] },
  ];
}

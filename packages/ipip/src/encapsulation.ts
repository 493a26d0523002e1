// IPIP per pool: which remote blocks are reached through the tunnel (Always; CrossSubnet when the remote
// node is outside this node's subnet; Never), the kernel route for each, and the tunnel MTU. Pure. On a
// kernel without the ipip module (tunl0 cannot exist) a block that needs the tunnel gets an `unreachable`
// route with the reason, instead of leaking pod traffic unencapsulated onto an underlay that drops it.

import { addressToBytes, type KernelRoute, MAIN_TABLE, parseCidr } from '@caracal/kernel';

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';
export const TUNNEL_DEVICE = 'tunl0';
/** IPv4-in-IPv4 adds a 20-byte outer header. */
export const IPIP_OVERHEAD = 20;

/** True when `address` lies inside `cidr` (this node's address with its prefix length). */
export function sameSubnet(nodeCidr: string, address: string): boolean {
  const { address: network, length } = parseCidr(networkOf(nodeCidr));
  const a = addressToBytes(network);
  const b = addressToBytes(address);
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** `10.0.0.5/24` → `10.0.0.0/24`. */
export function networkOf(cidr: string): string {
  const [address, lengthText] = cidr.split('/') as [string, string | undefined];
  if (lengthText === undefined) {
    throw new Error(
      `node address '${cidr}' has no prefix length: CrossSubnet cannot tell which nodes share its subnet`,
    );
  }
  const length = Number(lengthText);
  const bytes = addressToBytes(address);
  for (let bit = length; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${bytes.join('.')}/${length}`;
}

export function needsTunnel(mode: EncapMode, localNodeCidr: string, remoteNodeAddress: string): boolean {
  switch (mode) {
    case 'Always':
      return true;
    case 'Never':
      return false;
    case 'CrossSubnet':
      return !sameSubnet(localNodeCidr, remoteNodeAddress);
  }
}

export interface RemoteBlock {
  readonly cidr: string;
  readonly nodeAddress: string;
  readonly mode: EncapMode;
}

export interface RouteContext {
  readonly localNodeCidr: string;
  /** The uplink carrying un-encapsulated traffic. */
  readonly uplinkDevice: string;
  readonly ipipAvailable: boolean;
  readonly protocol: number;
}

export interface RemoteBlockRoute {
  readonly route: KernelRoute;
  readonly encapsulated: boolean;
  /** Why the block is unreachable, when it is. */
  readonly problem?: string;
}

export function remoteBlockRoute(block: RemoteBlock, context: RouteContext): RemoteBlockRoute {
  const base = { dst: block.cidr, table: MAIN_TABLE, protocol: context.protocol };
  if (!needsTunnel(block.mode, context.localNodeCidr, block.nodeAddress)) {
    return {
      route: {
        ...base,
        type: 'unicast',
        scope: 'universe',
        gateway: block.nodeAddress,
        device: context.uplinkDevice,
      },
      encapsulated: false,
    };
  }
  if (!context.ipipAvailable) {
    return {
      route: { ...base, type: 'unreachable', scope: 'universe' },
      encapsulated: false,
      problem: `block ${block.cidr} on ${block.nodeAddress} needs IPIP (pool ipipMode ${block.mode}) but this kernel has no ipip module`,
    };
  }
  return {
    route: {
      ...base,
      type: 'unicast',
      scope: 'universe',
      gateway: block.nodeAddress,
      device: TUNNEL_DEVICE,
      onlink: true,
    },
    encapsulated: true,
  };
}

export function tunnelMtu(uplinkMtu: number): number {
  return uplinkMtu - IPIP_OVERHEAD;
}

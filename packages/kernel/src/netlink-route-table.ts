// The real RouteTable: rtnetlink through the `netlink` npm package, in the network namespace of the
// current process. Translates between KernelRoute and rtnetlink messages (including RTA_MULTIPATH for
// ECMP, which the package leaves as raw bytes) and turns multicast notifications into KernelEvents.

import { createRtNetlink, type RtNetlinkSocket, rt } from 'netlink';
import { Observable, share } from 'rxjs';
import { addressToBytes, bytesToAddress, formatCidr, parseCidr } from './address.js';
import {
  describeRoute,
  KernelError,
  type KernelEvent,
  type KernelRoute,
  type LinkInfo,
  MAIN_TABLE,
  type NextHop,
  type RouteScope,
  type RouteTable,
  type RouteType,
} from './routes.js';

const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTA_GATEWAY = 5;
const RTNH_F_ONLINK = 4;
const AF_INET = 2;
const AF_INET6 = 10;

const TYPE_TO_KERNEL: Record<RouteType, keyof typeof rt.RouteType> = {
  unicast: 'UNICAST',
  blackhole: 'BLACKHOLE',
  unreachable: 'UNREACHABLE',
  prohibit: 'PROHIBIT',
};
const SCOPE_TO_KERNEL: Record<RouteScope, keyof typeof rt.RouteScope> = {
  universe: 'UNIVERSE',
  link: 'LINK',
  host: 'HOST',
};

export class NetlinkRouteTable implements RouteTable {
  private readonly socket: RtNetlinkSocket = createRtNetlink();
  private linksByName = new Map<string, LinkInfo>();
  private linksByIndex = new Map<number, LinkInfo>();
  readonly events: Observable<KernelEvent>;

  constructor() {
    this.events = new Observable<KernelEvent>((subscriber) => {
      const monitor = createRtNetlink();
      for (const group of ['LINK', 'IPV4_ROUTE', 'IPV6_ROUTE'] as const) monitor.addMembership(group);
      monitor.socket.on('message', (messages) => {
        for (const message of messages) {
          const event = this.toEvent(message.type, message.data);
          if (event) subscriber.next(event);
        }
      });
      monitor.socket.on('error', (error) => subscriber.error(error));
      return () => monitor.socket.close();
    }).pipe(share());
  }

  async listLinks(): Promise<LinkInfo[]> {
    const messages = await this.socket.getLinks();
    const links = messages.map((m) => ({
      index: m.data.index ?? 0,
      name: m.attrs.ifname ?? '',
      up: Boolean(m.data.flags?.up),
    }));
    this.linksByName = new Map(links.map((l) => [l.name, l]));
    this.linksByIndex = new Map(links.map((l) => [l.index, l]));
    return links;
  }

  async listRoutes(filter: { protocol: number; table?: number }): Promise<KernelRoute[]> {
    await this.listLinks();
    const messages = await this.socket.getRoutes();
    const routes: KernelRoute[] = [];
    for (const message of messages) {
      const route = this.fromMessage(message.data, message.attrs);
      if (!route || route.protocol !== filter.protocol) continue;
      if (filter.table !== undefined && route.table !== filter.table) continue;
      routes.push(route);
    }
    return routes;
  }

  async replaceRoute(route: KernelRoute): Promise<void> {
    const { data, attrs } = await this.toMessage(route);
    try {
      await this.socket.newRoute(data, attrs, { flags: NLM_F_CREATE | NLM_F_REPLACE });
    } catch (error) {
      throw kernelError(`cannot program route ${describeRoute(route)}`, error);
    }
  }

  async deleteRoute(route: KernelRoute): Promise<void> {
    const { data, attrs } = await this.toMessage(route, { forDelete: true });
    try {
      await this.socket.delRoute(data, attrs);
    } catch (error) {
      const wrapped = kernelError(`cannot delete route ${describeRoute(route)}`, error);
      if (wrapped.errno === 'ESRCH' || wrapped.errno === 'ENOENT') return;
      throw wrapped;
    }
  }

  close(): void {
    this.socket.socket.close();
  }

  private async ifindex(name: string): Promise<number> {
    let link = this.linksByName.get(name);
    if (!link) {
      await this.listLinks();
      link = this.linksByName.get(name);
    }
    if (!link) throw new KernelError(`no interface named '${name}'`, 'ENODEV');
    return link.index;
  }

  private async toMessage(
    route: KernelRoute,
    options: { forDelete?: boolean } = {},
  ): Promise<{ data: rt.Route; attrs: rt.RouteAttrs }> {
    const cidr = parseCidr(route.dst);
    const data: rt.Route = {
      family: cidr.family === 4 ? AF_INET : AF_INET6,
      dstLen: cidr.length,
      table: route.table < 256 ? route.table : 252,
      protocol: route.protocol as rt.RouteProtocol,
      scope: SCOPE_TO_KERNEL[route.scope],
      type: TYPE_TO_KERNEL[route.type],
    };
    const attrs: rt.RouteAttrs = { dst: Buffer.from(addressToBytes(cidr.address)), table: route.table };
    if (route.metric !== undefined) attrs.priority = route.metric;
    if (options.forDelete) return { data, attrs };
    if (route.gateway) attrs.gateway = Buffer.from(addressToBytes(route.gateway));
    if (route.device) attrs.oif = await this.ifindex(route.device);
    if (route.onlink) data.flags = { ...(data.flags ?? {}), __unknown: RTNH_F_ONLINK };
    if (route.nextHops && route.nextHops.length > 0)
      attrs.multipath = await this.encodeMultipath(route.nextHops);
    return { data, attrs };
  }

  private async encodeMultipath(hops: readonly NextHop[]): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (const hop of hops) {
      const gateway = hop.gateway ? addressToBytes(hop.gateway) : undefined;
      const attrLength = gateway ? 4 + gateway.length : 0;
      const buffer = Buffer.alloc(8 + align4(attrLength));
      buffer.writeUInt16LE(8 + attrLength, 0);
      buffer.writeUInt8(hop.onlink ? RTNH_F_ONLINK : 0, 2);
      buffer.writeUInt8((hop.weight ?? 1) - 1, 3);
      buffer.writeInt32LE(hop.device ? await this.ifindex(hop.device) : 0, 4);
      if (gateway) {
        buffer.writeUInt16LE(attrLength, 8);
        buffer.writeUInt16LE(RTA_GATEWAY, 10);
        buffer.set(gateway, 12);
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks);
  }

  private decodeMultipath(buffer: Buffer): NextHop[] {
    const hops: NextHop[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
      const length = buffer.readUInt16LE(offset);
      if (length < 8) break;
      const flags = buffer.readUInt8(offset + 2);
      const weight = buffer.readUInt8(offset + 3) + 1;
      const ifindex = buffer.readInt32LE(offset + 4);
      let gateway: string | undefined;
      let attrOffset = offset + 8;
      while (attrOffset + 4 <= offset + length) {
        const attrLength = buffer.readUInt16LE(attrOffset);
        const attrType = buffer.readUInt16LE(attrOffset + 2);
        if (attrLength < 4) break;
        if (attrType === RTA_GATEWAY)
          gateway = bytesToAddress(buffer.subarray(attrOffset + 4, attrOffset + attrLength));
        attrOffset += align4(attrLength);
      }
      const device = this.linksByIndex.get(ifindex)?.name;
      hops.push({
        ...(gateway ? { gateway } : {}),
        ...(device ? { device } : {}),
        ...(flags & RTNH_F_ONLINK ? { onlink: true } : {}),
        ...(weight !== 1 ? { weight } : {}),
      });
      offset += align4(length);
    }
    return hops;
  }

  private fromMessage(data: rt.Route, attrs: rt.RouteAttrs): KernelRoute | undefined {
    const family = data.family === AF_INET ? 4 : data.family === AF_INET6 ? 6 : undefined;
    if (family === undefined) return undefined;
    const type = fromKernelType(data.type);
    if (!type) return undefined;
    const dstBytes = attrs.dst ?? Buffer.alloc(family === 4 ? 4 : 16);
    const device = attrs.oif !== undefined ? this.linksByIndex.get(attrs.oif)?.name : undefined;
    const flags = data.flags?.__unknown ?? 0;
    const route: KernelRoute = {
      dst: formatCidr(dstBytes, data.dstLen ?? 0),
      table: attrs.table ?? data.table ?? MAIN_TABLE,
      protocol:
        typeof data.protocol === 'number' ? data.protocol : (rt.RouteProtocol[data.protocol ?? 'BOOT'] ?? 0),
      type,
      scope: fromKernelScope(data.scope),
      ...(device ? { device } : {}),
      ...(attrs.gateway ? { gateway: bytesToAddress(attrs.gateway) } : {}),
      ...(flags & RTNH_F_ONLINK ? { onlink: true } : {}),
      ...(attrs.multipath ? { nextHops: this.decodeMultipath(attrs.multipath) } : {}),
      ...(attrs.priority ? { metric: attrs.priority } : {}),
    };
    return route;
  }

  private toEvent(type: number, body: Buffer): KernelEvent | undefined {
    if (type === RTM_NEWLINK || type === RTM_DELLINK) {
      const message = rt.parseLinkMessage(body);
      const link: LinkInfo = {
        index: message.data.index ?? 0,
        name: message.attrs.ifname ?? '',
        up: Boolean(message.data.flags?.up),
      };
      if (type === RTM_DELLINK) {
        this.linksByName.delete(link.name);
        this.linksByIndex.delete(link.index);
        return { kind: 'link-removed', link };
      }
      const known = this.linksByIndex.has(link.index);
      this.linksByName.set(link.name, link);
      this.linksByIndex.set(link.index, link);
      return { kind: known ? 'link-changed' : 'link-added', link };
    }
    if (type === RTM_NEWROUTE || type === RTM_DELROUTE) {
      const message = rt.parseRouteMessage(body);
      const route = this.fromMessage(message.data, message.attrs);
      if (!route) return undefined;
      return { kind: type === RTM_DELROUTE ? 'route-removed' : 'route-added', route };
    }
    return undefined;
  }
}

function fromKernelType(type: rt.Route['type']): RouteType | undefined {
  const name = typeof type === 'number' ? rt.RouteType[type] : type;
  switch (name) {
    case 'UNICAST':
      return 'unicast';
    case 'BLACKHOLE':
      return 'blackhole';
    case 'UNREACHABLE':
      return 'unreachable';
    case 'PROHIBIT':
      return 'prohibit';
    default:
      return undefined;
  }
}

function fromKernelScope(scope: rt.Route['scope']): RouteScope {
  const name = typeof scope === 'number' ? rt.RouteScope[scope] : scope;
  return name === 'LINK' ? 'link' : name === 'HOST' ? 'host' : 'universe';
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function kernelError(context: string, error: unknown): KernelError {
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  // The netlink package reports a kernel refusal as "Request rejected: ESRCH".
  const errno = typeof code === 'string' ? code : /\b(E[A-Z0-9]{2,})\b/.exec(detail)?.[1];
  return new KernelError(`${context}: ${detail}`, errno);
}

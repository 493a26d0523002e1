// Unit tests of Felix's dataplane with in-memory kernel fakes: one apply programs routes, sysctls and the
// NAT table; a second apply writes nothing; the apply loop repairs drift (hand-deleted route at once,
// flushed nft table and changed sysctl on refresh), waits for late interfaces, and retries failures.
import { FakeRouteTable, FakeSysctls } from '@caracal/kernel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CalcGraph } from '../../src/calc/graph.js';
import type { InputUpdate } from '../../src/calc/inputs.js';
import { ApplyLoop, DataplaneApplier, desiredKernelRoutes } from '../../src/dataplane/dataplane.js';
import { FakeNft } from '../../src/dataplane/nft.js';

function desiredFor(updates: InputUpdate[]) {
  const graph = new CalcGraph('node1');
  graph.apply(updates);
  return graph.desired();
}

const inputs: InputUpdate[] = [
  {
    kind: 'WorkloadEndpoint',
    key: 'ns/a',
    value: { node: 'node1', interfaceName: 'cara00000000001', ipNetworks: ['10.65.0.1/32'] },
  },
  { kind: 'BlockAffinity', key: 'b', value: { node: 'node1', cidr: '10.65.0.0/26', state: 'confirmed' } },
  {
    kind: 'IPPool',
    key: 'default',
    value: {
      cidr: '10.65.0.0/16',
      natOutgoing: true,
      disabled: false,
      ipipMode: 'Never',
      vxlanMode: 'Never',
    },
  },
];

function setup() {
  const routes = new FakeRouteTable();
  const sysctls = new FakeSysctls();
  const nft = new FakeNft();
  const applier = new DataplaneApplier({ routes, sysctls, nft });
  return { routes, sysctls, nft, applier };
}

describe('desiredKernelRoutes', () => {
  it('describes IPv6 routes as the kernel reports them (metric 1024, no scope, blackhole on lo)', () => {
    const desired = desiredFor([
      {
        kind: 'WorkloadEndpoint',
        key: 'ns/a',
        value: {
          node: 'node1',
          interfaceName: 'cara00000000001',
          ipNetworks: ['10.65.0.1/32', 'fd00:65::1/128'],
        },
      },
      { kind: 'BlockAffinity', key: 'b', value: { node: 'node1', cidr: '10.65.0.0/26', state: 'confirmed' } },
      {
        kind: 'BlockAffinity',
        key: 'b6',
        value: { node: 'node1', cidr: 'fd00:65::/122', state: 'confirmed' },
      },
    ]);
    expect(desiredKernelRoutes(desired)).toEqual([
      {
        dst: '10.65.0.1/32',
        device: 'cara00000000001',
        table: 254,
        protocol: 96,
        type: 'unicast',
        scope: 'link',
      },
      {
        dst: 'fd00:65::1/128',
        device: 'cara00000000001',
        table: 254,
        protocol: 96,
        type: 'unicast',
        scope: 'universe',
        metric: 1024,
      },
      { dst: '10.65.0.0/26', table: 254, protocol: 96, type: 'blackhole', scope: 'universe' },
      {
        dst: 'fd00:65::/122',
        device: 'lo',
        table: 254,
        protocol: 96,
        type: 'blackhole',
        scope: 'universe',
        metric: 1024,
      },
    ]);
  });
});

describe('DataplaneApplier', () => {
  it('programs routes, sysctls and NAT, then has nothing to do', async () => {
    const { routes, sysctls, nft, applier } = setup();
    routes.addLink('cara00000000001');
    const desired = desiredFor(inputs);
    const first = await applier.apply(desired);
    expect(first).toMatchObject({ routesReplaced: 2, routesRemoved: 0, nftRewritten: true, errors: [] });
    expect(
      [...routes.routes.values()].map((r) => `${r.type} ${r.dst} ${r.device ?? ''} ${r.scope}`).sort(),
    ).toEqual(['blackhole 10.65.0.0/26  universe', 'unicast 10.65.0.1/32 cara00000000001 link']);
    expect(sysctls.values.get('ipv4/conf/cara00000000001/proxy_arp')).toBe('1');
    expect(sysctls.values.get('ipv4/ip_forward')).toBe('1');
    expect(nft.tables.get('inet caracal')).toBeDefined();
    const second = await applier.apply(desired);
    expect(second).toMatchObject({
      routesReplaced: 0,
      routesRemoved: 0,
      sysctlsWritten: 0,
      nftRewritten: false,
    });
  });

  it('rewrites the NAT table when the pools change', async () => {
    const { routes, nft, applier } = setup();
    routes.addLink('cara00000000001');
    await applier.apply(desiredFor(inputs));
    const changed = desiredFor([
      ...inputs,
      {
        kind: 'IPPool',
        key: 'second',
        value: {
          cidr: '10.70.0.0/16',
          natOutgoing: false,
          disabled: false,
          ipipMode: 'Never',
          vxlanMode: 'Never',
        },
      },
    ]);
    expect((await applier.apply(changed)).nftRewritten).toBe(true);
    expect(JSON.stringify(nft.tables.get('inet caracal'))).toContain('10.70.0.0');
  });
});

describe('ApplyLoop', () => {
  let loop: ApplyLoop | undefined;
  afterEach(() => loop?.stop());

  function startLoop(deps: ReturnType<typeof setup>, refreshIntervalMs = 60_000) {
    loop = new ApplyLoop(deps.applier, deps.routes, {
      minIntervalMs: 1,
      refreshIntervalMs,
      retryDelayMs: 5,
      maxRetryDelayMs: 20,
    });
    loop.start();
    return loop;
  }

  it('does not touch the kernel before the first desired state', async () => {
    const deps = setup();
    startLoop(deps);
    await new Promise((r) => setTimeout(r, 20));
    expect(deps.routes.log).toEqual([]);
    expect(deps.nft.batches).toEqual([]);
  });

  it('restores a route deleted by hand at once, on the kernel event', async () => {
    const deps = setup();
    deps.routes.addLink('cara00000000001');
    const l = startLoop(deps);
    l.update(desiredFor(inputs));
    await vi.waitFor(() => expect(l.inSync).toBe(true));
    deps.routes.removeByHand('10.65.0.1/32');
    await vi.waitFor(() =>
      expect([...deps.routes.routes.values()].some((r) => r.dst === '10.65.0.1/32')).toBe(true),
    );
  });

  it('re-reads the kernel and repairs what it missed when kernel events were lost (resync)', async () => {
    const deps = setup();
    deps.routes.addLink('cara00000000001');
    const l = startLoop(deps);
    l.update(desiredFor(inputs));
    await vi.waitFor(() => expect(l.inSync).toBe(true));
    // The route vanishes without a notification (as when the events monitor overran), so only the
    // resync can tell the loop; the periodic refresh is a minute away.
    const lost = [...deps.routes.routes.entries()].find(([, route]) => route.dst === '10.65.0.1/32');
    expect(lost).toBeDefined();
    deps.routes.routes.delete(lost![0]);
    await new Promise((r) => setTimeout(r, 20));
    expect([...deps.routes.routes.values()].some((r) => r.dst === '10.65.0.1/32')).toBe(false);
    deps.routes.loseEvents('monitor overrun');
    await vi.waitFor(() =>
      expect([...deps.routes.routes.values()].some((r) => r.dst === '10.65.0.1/32')).toBe(true),
    );
  });

  it('programs a workload whose interface appears after its endpoint', async () => {
    const deps = setup();
    const l = startLoop(deps);
    l.update(desiredFor(inputs));
    await vi.waitFor(() => expect(l.lastReport?.routesWaitingForInterface).toBe(1));
    expect(deps.sysctls.values.has('ipv4/conf/cara00000000001/proxy_arp')).toBe(false);
    deps.routes.addLink('cara00000000001');
    await vi.waitFor(() => expect(deps.routes.routes.size).toBe(2));
    await vi.waitFor(() => expect(deps.sysctls.values.get('ipv4/conf/cara00000000001/proxy_arp')).toBe('1'));
  });

  it('repairs a flushed nft table and a changed sysctl on the periodic refresh', async () => {
    const deps = setup();
    deps.routes.addLink('cara00000000001');
    const l = startLoop(deps, 30);
    l.update(desiredFor(inputs));
    await vi.waitFor(() => expect(l.inSync).toBe(true));
    deps.nft.flushByHand('inet', 'caracal');
    await deps.sysctls.write('ipv4/conf/cara00000000001/proxy_arp', '0');
    await vi.waitFor(() => {
      expect(deps.nft.tables.has('inet caracal')).toBe(true);
      expect(deps.sysctls.values.get('ipv4/conf/cara00000000001/proxy_arp')).toBe('1');
    });
  });

  it('retries a failed apply until it succeeds', async () => {
    const deps = setup();
    deps.routes.addLink('cara00000000001');
    deps.routes.failNext(3);
    const reports: string[][] = [];
    loop = new ApplyLoop(deps.applier, deps.routes, {
      minIntervalMs: 1,
      refreshIntervalMs: 60_000,
      retryDelayMs: 2,
      maxRetryDelayMs: 10,
      onReport: (report) => reports.push([...report.errors]),
    });
    loop.start();
    loop.update(desiredFor(inputs));
    await vi.waitFor(() => expect(loop!.inSync).toBe(true));
    expect(reports.length).toBeGreaterThan(1);
    expect(reports[0]![0]).toContain('injected failure');
    expect(deps.routes.routes.size).toBe(2);
  });
});

// Graceful restart (both directions) and route refresh of caracal-bgpd against GoBGP 3.10:
//   gobgp (host, gobgpd AS 65001) — us (router, caracal-bgpd AS 4200000002)
// over two eBGP sessions, IPv4 over IPv4 (ipv4-unicast) and IPv6 over IPv6 (ipv6-unicast), graceful
// restart enabled on both sides (GoBGP: `graceful-restart` and per-family `mp-graceful-restart`).
// GoBGP has no zebra here: it installs nothing into its kernel, so on its side there is no kernel route
// and no traffic to look at; what it keeps is read from its RIB (`gobgp global rib -j`, with its `stale`
// flag). On our side the kernel (proto 201) is checked.
// 1. We restart (GoBGP is the helper): caracal-bgpd is killed with SIGKILL; GoBGP keeps our prefixes,
//    marked stale; our kernel keeps GoBGP's routes; GoBGP withdraws one of them meanwhile (`gobgp global
//    rib del`) and we drop one originated prefix from our config file; caracal-bgpd restarts with that
//    file: the sessions come back, GoBGP's copy of our routes is fresh again and the prefix we no longer
//    originate leaves GoBGP after our End-of-RIB; the prefix GoBGP withdrew is swept from our kernel.
// 2. GoBGP restarts (we are the helper): gobgpd is killed with SIGKILL; we keep its paths stale in the
//    Loc-RIB and in the kernel; gobgpd comes back with `--graceful-restart` (Restart State and Forwarding
//    State bits). GoBGP's config file holds no routes (they come from its API), so the test adds them again
//    through the API while a namespace-local nftables gate holds the sessions back (else GoBGP could finish
//    its sync and send End-of-RIB before they are added); after GoBGP's End-of-RIB the prefix it no longer
//    announces is swept from our Loc-RIB and kernel.
// 3. Route refresh: our import policy changes in the file (reject a prefix GoBGP announces, accept one
//    rejected so far) and SIGHUP: we send ROUTE-REFRESH, GoBGP re-sends, the Loc-RIB and the kernel follow,
//    and no session drops.
// Prefixes carry a per-run number so nothing can be mistaken for a leftover of another run.
import { randomInt } from 'node:crypto';
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';
import type { RouteRow } from '../../src/daemon/index.js';
import {
  buildSpeaker,
  CaracalBgpd,
  GobgpDaemon,
  type GobgpPath,
  gobgpAsPath,
  gobgpConfig,
  kernelRoutes,
} from './peers.js';

const OUR_AS = 4200000002;
const GOBGP_AS = 65001;
const HOLD = 9;
/** Restart time each side advertises (seconds): how long the other keeps its routes when it dies. */
const RESTART_TIME = 25;

const topology: Topology = {
  name: 'caracal-bgpd graceful restart and route refresh with GoBGP',
  routers: [{ name: 'us' }],
  hosts: [{ name: 'gobgp' }],
  links: [
    {
      a: { host: 'us', interface: 'gobgp', addresses: ['10.2.0.2/24', 'fd00:2::2/64'] },
      b: { host: 'gobgp', interface: 'eth0', addresses: ['10.2.0.1/24', 'fd00:2::1/64'] },
    },
  ],
};

// Per-run prefixes: 10.R.x.0/24 and 2001:db8:R:x::/64 with R drawn per run.
const R = randomInt(100, 200);
const v4 = (third: number) => `10.${R}.${third}.0/24`;
const v6 = (group: number) => `2001:db8:${R}:${group}::/64`;

/** What we originate: `ours*Kept` throughout, `ours*Dropped` removed from the file while we are down. */
const ours4Kept = v4(1);
const ours4Dropped = v4(2);
const ours6Kept = v6(1);
const ours6Dropped = v6(2);

/** What GoBGP announces (through its API). */
const theirs4Kept = v4(11);
const theirs6Kept = v6(11);
/** Withdrawn by GoBGP while we are down: swept from our kernel after GoBGP's End-of-RIB. */
const theirs4WithdrawnWhileWeAreDown = v4(12);
const theirs6WithdrawnWhileWeAreDown = v6(12);
/** Rejected by our import policy at first, accepted after the route-refresh reload. */
const theirs4AcceptedLater = v4(13);
/** Accepted at first, rejected after the route-refresh reload. */
const theirs4RejectedLater = v4(14);
/** Not announced again by GoBGP after its own restart: swept from our side after its End-of-RIB. */
const theirs4GoneAfterTheirRestart = v4(15);
const theirs6GoneAfterTheirRestart = v6(15);

/** A policy term `{name, match, then: {action}}` (built by entries: a literal `then` key reads as a thenable). */
function policyTerm(name: string, match: Record<string, unknown>, action: 'accept' | 'reject') {
  return Object.fromEntries([
    ['name', name],
    ['match', match],
    ['then', { action }],
  ]);
}

/** Our config: what we originate and which IPv4 prefix our import policy from GoBGP refuses. */
function ourConfig(originate: readonly string[], rejected: string) {
  const peer = { asNumber: GOBGP_AS, holdTime: HOLD, connectRetryTime: 1, export: { action: 'accept' } };
  return {
    asNumber: OUR_AS,
    routerId: '10.2.0.2',
    listen: { address: '::', port: 179 },
    kernel: { install: true },
    gracefulRestart: { enabled: true, restartTime: RESTART_TIME },
    originate: originate.map((prefix) => ({ prefix })),
    peers: [
      {
        ...peer,
        name: 'gobgp4',
        address: '10.2.0.1',
        families: ['ipv4-unicast'],
        import: [
          policyTerm('refused', { prefix: [{ prefix: rejected }] }, 'reject'),
          policyTerm('rest', { prefix: [{ prefix: '0.0.0.0/0', le: 32 }] }, 'accept'),
        ],
      },
      {
        ...peer,
        name: 'gobgp6',
        address: 'fd00:2::1',
        families: ['ipv6-unicast'],
        import: { action: 'accept' },
      },
    ],
  };
}

const GOBGP_CONFIG = gobgpConfig({
  asNumber: GOBGP_AS,
  routerId: '10.2.0.1',
  neighbors: [
    {
      address: '10.2.0.2',
      peerAs: OUR_AS,
      holdTime: HOLD,
      families: ['ipv4-unicast'],
      gracefulRestart: true,
      restartTime: RESTART_TIME,
    },
    {
      address: 'fd00:2::2',
      peerAs: OUR_AS,
      holdTime: HOLD,
      families: ['ipv6-unicast'],
      gracefulRestart: true,
      restartTime: RESTART_TIME,
    },
  ],
});

/**
 * nftables table in GoBGP's namespace that refuses BGP connections both ways (ours in, GoBGP's out) with
 * a TCP reset, so neither side waits on a lost SYN once it is gone. The namespace is the run's own.
 */
const GATE_TABLE = 'caracal_test_bgp_gate';
const GATE_RULES = `table inet ${GATE_TABLE} {
  chain input { type filter hook input priority 0; tcp dport 179 reject with tcp reset; }
  chain output { type filter hook output priority 0; tcp dport 179 reject with tcp reset; }
}
`;

let lab: () => import('@caracal/lab').Lab;
const ourKernel = async (family: 4 | 6) =>
  (await kernelRoutes(lab(), 'us', { family, protocol: 201 })).map((r) => r.dst);
const bothKernels = async () => [...(await ourKernel(4)), ...(await ourKernel(6))];
const familyOf = (prefix: string) => (prefix.includes(':') ? 'ipv6' : 'ipv4');

describeLab('caracal-bgpd graceful restart and route refresh with GoBGP 3.10', () => {
  lab = useLab(topology);
  let us: CaracalBgpd;
  let gobgp: GobgpDaemon;
  let originated = [ours4Kept, ours4Dropped, ours6Kept, ours6Dropped];

  /** GoBGP's global RIB, both families. */
  const gobgpRib = async (): Promise<Record<string, GobgpPath[]>> => ({
    ...(await gobgp.rib('ipv4')),
    ...(await gobgp.rib('ipv6')),
  });
  /**
   * The graceful-restart capability GoBGP received from us in the OPEN of the current session, as `gobgp
   * neighbor ADDR` prints it ("Remote: restart time 25 sec, restart flag set, notification flag set /
   * ipv4-unicast, forward flag set"), on one line. (Its "Local:" line is recomputed from the current state
   * when asked, so it does not show what GoBGP sent.)
   */
  const gracefulRestartGobgpReceived = async (address: string) => {
    const text = await gobgp.gobgp('neighbor', address);
    const section = /\n {4}graceful-restart:[^\n]*\n((?:(?: {5,}|\t)[^\n]*\n)*)/.exec(text)?.[1];
    const remote = section?.split('Remote:')[1];
    if (remote === undefined)
      throw new Error(`no graceful-restart capability received in gobgp neighbor ${address}:\n${text}`);
    return remote.replace(/\s+/g, ' ').trim();
  };
  /**
   * Runs `ip monitor route` in our namespace from now until the returned function is called, which
   * returns the prefixes of our routes (proto 201) the kernel deleted meanwhile.
   */
  const watchOurKernelDeletions = async (name: string) => {
    const monitor = await lab().spawn('us', ['ip', 'monitor', 'route'], { name });
    await new Promise((resolve) => setTimeout(resolve, 300));
    return async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await monitor.stop();
      return monitor
        .log()
        .split('\n')
        .filter((line) => line.startsWith('Deleted ') && / proto 201\b/.test(line))
        .map((line) => line.split(' ')[1] ?? '');
    };
  };
  /** GoBGP's neighbor state (`gobgp neighbor ADDR -j`): graceful restart and message counters. */
  const gobgpNeighbor = async (address: string) =>
    JSON.parse(await gobgp.gobgp('neighbor', address, '-j')) as {
      afi_safis?: { mp_graceful_restart?: { state?: { end_of_rib_received?: boolean } } }[];
      graceful_restart?: { local_restarting?: boolean };
      state: { messages?: { received?: { refresh?: number } } };
    };
  const announceFromGobgp = async (prefixes: readonly string[]) => {
    for (const prefix of prefixes) await gobgp.addRoute(familyOf(prefix), prefix);
  };
  const waitOurKernel = (description: string, test: (routes: string[]) => boolean, timeoutMs = 20_000) =>
    waitUntil(
      description,
      async () => {
        const routes = await bothKernels();
        return test(routes) ? routes : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );

  beforeAll(async () => {
    await buildSpeaker();
    gobgp = await GobgpDaemon.start(lab(), 'gobgp', GOBGP_CONFIG);
    us = await CaracalBgpd.start(lab(), 'us', ourConfig(originated, theirs4AcceptedLater));
    await us.waitEstablished('gobgp4');
    await us.waitEstablished('gobgp6');
    await gobgp.waitEstablished('10.2.0.2');
    await gobgp.waitEstablished('fd00:2::2');
  });

  it('negotiates graceful restart on both sessions and exchanges routes both ways', async () => {
    for (const name of ['gobgp4', 'gobgp6'])
      expect((await us.peer(name)).gracefulRestart.negotiated).toBe(true);
    await announceFromGobgp([
      theirs4Kept,
      theirs4WithdrawnWhileWeAreDown,
      theirs4AcceptedLater,
      theirs4RejectedLater,
      theirs4GoneAfterTheirRestart,
      theirs6Kept,
      theirs6WithdrawnWhileWeAreDown,
      theirs6GoneAfterTheirRestart,
    ]);
    await waitOurKernel('GoBGP’s accepted routes in our kernel', (routes) =>
      [
        theirs4Kept,
        theirs4WithdrawnWhileWeAreDown,
        theirs4RejectedLater,
        theirs4GoneAfterTheirRestart,
        theirs6Kept,
        theirs6WithdrawnWhileWeAreDown,
        theirs6GoneAfterTheirRestart,
      ].every((p) => routes.includes(p)),
    );
    expect(await ourKernel(4)).not.toContain(theirs4AcceptedLater);
    const rib = await waitUntil(
      'GoBGP to have our four prefixes',
      async () => {
        const all = await gobgpRib();
        return originated.every((p) => all[p]) ? all : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const path = rib[ours4Kept]?.[0];
    expect(path && gobgpAsPath(path)).toEqual([OUR_AS]);
    expect(path?.stale ?? false).toBe(false);
  });

  it('we restart (GoBGP helps): GoBGP keeps our routes stale, our kernel keeps its routes, then both reconcile', async () => {
    const ourKernelDeletions = await watchOurKernelDeletions('route-monitor-our-restart');
    await us.kill9();
    await waitUntil(
      'GoBGP to see both sessions go down',
      async () => {
        const states = await gobgp.neighborStates();
        return states.get('10.2.0.2') !== 'established' && states.get('fd00:2::2') !== 'established'
          ? states
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // (GoBGP's API does not expose its PeerRestarting flag; its End-of-RIB state is cleared on peer down.)
    for (const address of ['10.2.0.2', 'fd00:2::2'])
      expect(
        (await gobgpNeighbor(address)).afi_safis?.[0]?.mp_graceful_restart?.state?.end_of_rib_received ??
          false,
        address,
      ).toBe(false);
    // GoBGP keeps every prefix of ours, each path marked stale.
    const kept = await gobgpRib();
    for (const prefix of originated) {
      const paths = kept[prefix];
      expect(paths, `GoBGP dropped ${prefix} at once: ${JSON.stringify(kept)}`).toBeDefined();
      expect(paths?.[0]?.stale, `${prefix} in GoBGP: ${JSON.stringify(paths)}`).toBe(true);
    }
    // Our kernel still has GoBGP's routes (nobody removed them); GoBGP withdraws two meanwhile, and we
    // stop originating two prefixes.
    expect(await bothKernels()).toEqual(
      expect.arrayContaining([theirs4Kept, theirs4WithdrawnWhileWeAreDown, theirs6WithdrawnWhileWeAreDown]),
    );
    await gobgp.deleteRoute('ipv4', theirs4WithdrawnWhileWeAreDown);
    await gobgp.deleteRoute('ipv6', theirs6WithdrawnWhileWeAreDown);
    originated = [ours4Kept, ours6Kept];
    us.writeConfig(ourConfig(originated, theirs4AcceptedLater));
    // Still there a moment later: GoBGP waits for us (restart time RESTART_TIME s), not for nothing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stillKept = await gobgpRib();
    expect(stillKept[ours4Dropped]?.[0]?.stale).toBe(true);
    expect(stillKept[ours6Dropped]?.[0]?.stale).toBe(true);
    expect(await bothKernels()).toEqual(
      expect.arrayContaining([theirs4Kept, theirs4WithdrawnWhileWeAreDown, theirs6Kept]),
    );

    await us.restart();
    await us.waitEstablished('gobgp4');
    await us.waitEstablished('gobgp6');
    await gobgp.waitEstablished('10.2.0.2');
    await gobgp.waitEstablished('fd00:2::2');

    // GoBGP: the prefixes we no longer originate leave after our End-of-RIB, the rest is fresh.
    const after = await waitUntil(
      'GoBGP to drop the prefixes we no longer originate and refresh the others',
      async () => {
        const all = await gobgpRib();
        const fresh = originated.every((p) => all[p]?.[0] && all[p]?.[0]?.stale !== true);
        return fresh && !all[ours4Dropped] && !all[ours6Dropped] ? all : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(Object.keys(after)).toEqual(expect.arrayContaining(originated));
    for (const address of ['10.2.0.2', 'fd00:2::2']) {
      const neighbor = await gobgpNeighbor(address);
      expect(neighbor.afi_safis?.[0]?.mp_graceful_restart?.state?.end_of_rib_received, address).toBe(true);
      // Our OPEN after the restart: Restart State and, for the family, Forwarding State (RFC 4724 §3).
      const remote = await gracefulRestartGobgpReceived(address);
      expect(remote, address).toMatch(new RegExp(`restart time ${RESTART_TIME} sec, restart flag set`));
      expect(remote, address).toMatch(/-unicast, forward flag set/);
    }
    // Us: what GoBGP withdrew while we were down is swept from our kernel, the rest stays.
    const ours = await waitOurKernel(
      'the routes GoBGP withdrew while we were down swept from our kernel',
      (routes) =>
        !routes.includes(theirs4WithdrawnWhileWeAreDown) && !routes.includes(theirs6WithdrawnWhileWeAreDown),
      RESTART_TIME * 1000 + 10_000,
    );
    expect(ours).toEqual(
      expect.arrayContaining([theirs4Kept, theirs4RejectedLater, theirs4GoneAfterTheirRestart, theirs6Kept]),
    );
    await waitUntil(
      'our restart to complete',
      async () => ((await us.status()).restarting ? undefined : true),
      {
        timeoutMs: RESTART_TIME * 1000 + 10_000,
      },
    );
    const row = (await us.routes(theirs4Kept)).find((r) => r.prefix === theirs4Kept);
    expect(row?.paths[0]?.stale).toBe(false);
    expect(row?.installed).toBe(true);
    // Across kill -9, restart and reconciliation our kernel deleted exactly what GoBGP withdrew meanwhile.
    expect((await ourKernelDeletions()).sort()).toEqual(
      [theirs4WithdrawnWhileWeAreDown, theirs6WithdrawnWhileWeAreDown].sort(),
    );
  });

  it('GoBGP restarts (we help): its paths stay stale in our Loc-RIB and kernel, then what it no longer announces is swept', async () => {
    const ourKernelDeletions = await watchOurKernelDeletions('route-monitor-gobgp-restart');
    await gobgp.process.stop({ signal: 'SIGKILL' });
    const restarting = await waitUntil(
      'us to see GoBGP restarting on both sessions',
      async () => {
        const rows = (await us.status()).peers;
        return rows.every((p) => p.state !== 'Established' && p.gracefulRestart.peerRestarting)
          ? rows
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    for (const row of restarting) expect(row.prefixes.stale, row.name).toBeGreaterThan(0);
    const staleRows = (await us.cli<{ routes: RouteRow[] }>('routes')).routes;
    for (const prefix of [
      theirs4Kept,
      theirs4GoneAfterTheirRestart,
      theirs6Kept,
      theirs6GoneAfterTheirRestart,
    ]) {
      const row = staleRows.find((r) => r.prefix === prefix);
      expect(row?.paths[0], `${prefix} in caracal-bgp routes -o json`).toMatchObject({ stale: true });
    }
    expect(await bothKernels()).toEqual(
      expect.arrayContaining([
        theirs4Kept,
        theirs4GoneAfterTheirRestart,
        theirs6Kept,
        theirs6GoneAfterTheirRestart,
      ]),
    );

    // GoBGP comes back as a restarting speaker. Its routes come from the API, not from its config file:
    // hold the sessions back until they are in its RIB again (all but the two it no longer announces).
    await lab().exec('gobgp', ['nft', '-f', '-'], { input: GATE_RULES, check: true });
    try {
      gobgp = await GobgpDaemon.start(lab(), 'gobgp', GOBGP_CONFIG, 'gobgpd-restarted', [
        '--graceful-restart',
      ]);
      await announceFromGobgp([theirs4Kept, theirs4AcceptedLater, theirs4RejectedLater, theirs6Kept]);
      // GoBGP's restarting-speaker mode: with it, GoBGP's OPEN carries the Restart State bit and the
      // Forwarding State bit per family, and GoBGP defers its route selection ("sync") until End-of-RIB.
      for (const address of ['10.2.0.2', 'fd00:2::2'])
        expect((await gobgpNeighbor(address)).graceful_restart?.local_restarting, address).toBe(true);
      // Still stale in our kernel while GoBGP is back but not yet reconnected.
      expect(await bothKernels()).toEqual(
        expect.arrayContaining([theirs4GoneAfterTheirRestart, theirs6GoneAfterTheirRestart]),
      );
      expect((await us.peer('gobgp4')).state).not.toBe('Established');
    } finally {
      await lab().exec('gobgp', ['nft', 'delete', 'table', 'inet', GATE_TABLE], { check: true });
    }
    await us.waitEstablished('gobgp4');
    await us.waitEstablished('gobgp6');
    await waitOurKernel(
      'the prefixes GoBGP no longer announces swept from our kernel',
      (routes) =>
        !routes.includes(theirs4GoneAfterTheirRestart) && !routes.includes(theirs6GoneAfterTheirRestart),
    );
    await waitUntil(
      'no stale paths left',
      async () => ((await us.status()).peers.every((p) => p.prefixes.stale === 0) ? true : undefined),
      { timeoutMs: 20_000 },
    );
    expect(await bothKernels()).toEqual(
      expect.arrayContaining([theirs4Kept, theirs4RejectedLater, theirs6Kept]),
    );
    const rows = await us.routes();
    for (const prefix of [theirs4Kept, theirs6Kept]) {
      const row = rows.find((r) => r.prefix === prefix);
      expect(row?.paths[0], prefix).toMatchObject({
        stale: false,
        from: prefix.includes(':') ? 'gobgp6' : 'gobgp4',
      });
    }
    expect(rows.find((r) => r.prefix === theirs4GoneAfterTheirRestart)).toBeUndefined();
    expect(rows.find((r) => r.prefix === theirs6GoneAfterTheirRestart)).toBeUndefined();
    // GoBGP ended its restart: route selection deferral over ("sync finished"), no longer restarting.
    expect(gobgp.process.log()).toMatch(/"msg":"sync finished"/);
    for (const address of ['10.2.0.2', 'fd00:2::2']) {
      expect((await gobgpNeighbor(address)).graceful_restart?.local_restarting ?? false, address).toBe(false);
      // What GoBGP received in our OPEN on the new sessions: forwarding state kept, and no Restart State
      // bit — our own restart ended long ago (RFC 4724 §3, §4.1).
      const remote = await gracefulRestartGobgpReceived(address);
      expect(remote, address).toMatch(new RegExp(`restart time ${RESTART_TIME} sec`));
      expect(remote, address).toMatch(/-unicast, forward flag set/);
      expect(remote, address).not.toMatch(/restart flag set/);
    }
    // GoBGP has our routes again.
    await waitUntil(
      'GoBGP to have our prefixes again',
      async () => {
        const all = await gobgpRib();
        return originated.every((p) => all[p]) ? all : undefined;
      },
      { timeoutMs: 20_000 },
    );
    // Across GoBGP's kill -9 and restart our kernel deleted exactly what GoBGP no longer announces.
    expect((await ourKernelDeletions()).sort()).toEqual(
      [theirs4GoneAfterTheirRestart, theirs6GoneAfterTheirRestart].sort(),
    );
  });

  it('route refresh: a new import policy via SIGHUP sends ROUTE-REFRESH, GoBGP re-sends, kernel follows, no flap', async () => {
    const before = await us.peer('gobgp4');
    const refreshesAtGobgp = (await gobgpNeighbor('10.2.0.2')).state.messages?.received?.refresh ?? 0;
    const other = await us.peer('gobgp6');
    expect(await ourKernel(4)).toContain(theirs4RejectedLater);
    expect(await ourKernel(4)).not.toContain(theirs4AcceptedLater);
    us.reload(ourConfig(originated, theirs4RejectedLater));
    await waitOurKernel(
      `${theirs4AcceptedLater} in and ${theirs4RejectedLater} out of our kernel`,
      (routes) => routes.includes(theirs4AcceptedLater) && !routes.includes(theirs4RejectedLater),
    );
    const after = await us.peer('gobgp4');
    expect(after.messagesOut.routeRefresh).toBeGreaterThan(before.messagesOut.routeRefresh);
    expect(after.messagesIn.update).toBeGreaterThan(before.messagesIn.update);
    expect(after.state).toBe('Established');
    expect(after.since).toBe(before.since);
    expect(after.flaps).toBe(before.flaps);
    expect((await us.peer('gobgp6')).since).toBe(other.since);
    expect((await gobgpNeighbor('10.2.0.2')).state.messages?.received?.refresh ?? 0).toBeGreaterThan(
      refreshesAtGobgp,
    );
    const states = await gobgp.neighborStates();
    expect(states.get('10.2.0.2')).toBe('established');
    const routes = await us.routes();
    expect(routes.find((r) => r.prefix === theirs4AcceptedLater)?.paths[0]?.from).toBe('gobgp4');
    expect(routes.find((r) => r.prefix === theirs4RejectedLater)).toBeUndefined();
    expect(await ourKernel(4)).toContain(theirs4Kept);
  });

  it('logged no errors along the way', () => {
    expect(us.logLines(50)).toEqual([]);
  });
});

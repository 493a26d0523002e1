// caracal-bgpd facing malformed UPDATEs (RFC 7606) from a raw test peer: the test process itself, in the
// root namespace, attached to the lab's bridge (a per-run random /24), speaking through our codec's
// encoders and sending crafted bytes. caracal-bgpd runs in its namespace with a 4-octet AS; the raw
// peer has one too. Proves, reading the daemon's Loc-RIB over its control socket:
//   - a malformed AS_PATH (segment overrunning the attribute) is treat-as-withdraw: the prefix it carries
//     is withdrawn, no NOTIFICATION, and a later valid UPDATE is accepted on the same session;
//   - ORIGIN (well-known mandatory) with the Optional bit set: treat-as-withdraw (RFC 7606 §3 c, §7.1);
//   - NEXT_HOP missing (RFC 7606 §3 d), our AS in the AS_PATH (RFC 4271 §9.1.2), an AS_CONFED segment
//     from an eBGP peer (RFC 7606 §7.2): the prefix is withdrawn, the session stays;
//   - an IPv4 NLRI prefix length of 33: NOTIFICATION 3/10 (UPDATE Message Error / Invalid Network
//     Field), the session is reset and the peer's routes leave the Loc-RIB and the kernel.
import { randomInt } from 'node:crypto';
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BgpPathAttribute } from '../../src/codec/index.js';
import type { RouteRow, SpeakerStatus } from '../../src/daemon/index.js';
import { buildSpeaker, CaracalBgpd, kernelRoutes } from './peers.js';
import { announceBytes, basicAttributes, RawBgpPeer, withdrawBytes } from './raw-peer.js';

const OUR_AS = 4200000002;
const RAW_AS = 4200000010;
// The root namespace joins the lab's bridge with this address: a random /24 so that concurrent labs of
// other engineers, which may also attach the root namespace, do not collide.
const subnet = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
const ROOT = `${subnet}.1`;
const US = `${subnet}.2`;

const topology: Topology = {
  name: 'caracal-bgpd malformed UPDATEs from a raw peer',
  segments: [{ name: 'wire', rootAddresses: [`${ROOT}/24`] }],
  hosts: [{ name: 'us', interfaces: [{ name: 'eth0', segment: 'wire', addresses: [`${US}/24`] }] }],
};

/** AS_PATH value: one AS_SEQUENCE that claims 5 ASNs but carries 1 (overruns the attribute). */
function overrunningAsPath(): Uint8Array {
  const value = new Uint8Array(6);
  value[0] = 2;
  value[1] = 5;
  new DataView(value.buffer).setUint32(2, RAW_AS);
  return value;
}

/** An UPDATE announcing 10.72.0.1/32 whose NLRI prefix length octet is rewritten to 33 (with 5 address octets). */
function nlriLength33(): Uint8Array {
  const valid = announceBytes(['10.72.0.1/32'], basicAttributes([RAW_AS], ROOT));
  const bytes = new Uint8Array(valid.length + 1);
  bytes.set(valid);
  bytes[valid.length - 5] = 33;
  new DataView(bytes.buffer).setUint16(16, bytes.length);
  return bytes;
}

describeLab('caracal-bgpd and malformed UPDATEs (RFC 7606) from a raw peer', () => {
  const lab = useLab(topology);
  let us: CaracalBgpd;
  let peer: RawBgpPeer | undefined;

  beforeAll(async () => {
    await buildSpeaker();
    us = await CaracalBgpd.start(lab(), 'us', {
      asNumber: OUR_AS,
      routerId: US,
      listen: { address: US, port: 179 },
      kernel: { install: true },
      peers: [
        {
          name: 'raw',
          address: ROOT,
          asNumber: RAW_AS,
          passive: true,
          holdTime: 30,
          families: ['ipv4-unicast'],
          import: { action: 'accept' },
          export: { action: 'accept' },
        },
      ],
    });
    peer = await RawBgpPeer.connect({
      host: US,
      localAddress: ROOT,
      asNumber: RAW_AS,
      routerId: ROOT,
      holdTime: 30,
    });
    await us.waitEstablished('raw');
  });

  afterAll(() => peer?.close());

  const prefixes = async () => (await us.routes()).map((r) => r.prefix);
  const waitForPrefix = (prefix: string, present: boolean, timeoutMs = 10_000) =>
    waitUntil(
      `${prefix} ${present ? 'in' : 'gone from'} our Loc-RIB`,
      async () => ((await prefixes()).includes(prefix) === present ? true : undefined),
      { timeoutMs },
    );

  it('accepts a valid UPDATE into the Loc-RIB and the kernel', async () => {
    peer?.send(announceBytes(['10.70.0.0/24', '10.70.1.0/24'], basicAttributes([RAW_AS], ROOT)));
    await waitForPrefix('10.70.0.0/24', true);
    const row = (await us.routes('10.70.0.0/24')).find((r) => r.prefix === '10.70.0.0/24');
    expect(row?.paths[0]).toMatchObject({ from: 'raw', asPath: String(RAW_AS), nextHop: ROOT });
    await waitUntil('10.70.0.0/24 in our kernel', async () =>
      (await kernelRoutes(lab(), 'us', { family: 4, protocol: 201 })).find((r) => r.dst === '10.70.0.0/24'),
    );
    // The command line client sees the same Loc-RIB and session.
    const viaCli = await us.cli<{ routes: RouteRow[] }>('routes');
    expect(viaCli.routes.map((r) => r.prefix).sort()).toEqual((await prefixes()).sort());
    const statusViaCli = await us.cli<SpeakerStatus>('status');
    expect(statusViaCli.peers.find((p) => p.name === 'raw')).toMatchObject({
      state: 'Established',
      peerAs: RAW_AS,
      localAs: OUR_AS,
    });
  });

  it('malformed AS_PATH: treat-as-withdraw, no NOTIFICATION, the session stays up and takes a later valid UPDATE', async () => {
    const [origin, , nextHop] = basicAttributes([RAW_AS], ROOT);
    if (!origin || !nextHop) throw new Error('basicAttributes changed');
    peer?.send(
      announceBytes(
        ['10.70.0.0/24'],
        [origin, { kind: 'unknown', code: 2, flags: 0x40, value: overrunningAsPath() }, nextHop],
      ),
    );
    await waitForPrefix('10.70.0.0/24', false);
    expect(await prefixes()).toContain('10.70.1.0/24');
    peer?.send(announceBytes(['10.71.0.0/24'], basicAttributes([RAW_AS], ROOT)));
    await waitForPrefix('10.71.0.0/24', true);
    expect(peer?.notification()).toBeUndefined();
    expect(peer?.isOpen).toBe(true);
    expect((await us.peer('raw')).state).toBe('Established');
    await waitUntil('10.70.0.0/24 gone from our kernel', async () =>
      (await kernelRoutes(lab(), 'us', { family: 4, protocol: 201 })).some((r) => r.dst === '10.70.0.0/24')
        ? undefined
        : true,
    );
  });

  it('ORIGIN with the Optional flag set: treat-as-withdraw, session up', async () => {
    const [, asPath, nextHop] = basicAttributes([RAW_AS], ROOT);
    if (!asPath || !nextHop) throw new Error('basicAttributes changed');
    peer?.send(announceBytes(['10.71.0.0/24'], [{ kind: 'origin', value: 0, flags: 0xc0 }, asPath, nextHop]));
    await waitForPrefix('10.71.0.0/24', false);
    // Still up: a plain withdrawal and a new announcement are processed.
    peer?.send(withdrawBytes(['10.70.1.0/24']));
    peer?.send(announceBytes(['10.73.0.0/24'], basicAttributes([RAW_AS], ROOT)));
    await waitForPrefix('10.70.1.0/24', false);
    await waitForPrefix('10.73.0.0/24', true);
    expect(peer?.notification()).toBeUndefined();
    expect((await us.peer('raw')).state).toBe('Established');
  });

  it('missing NEXT_HOP, our own AS in the AS_PATH: each withdraws the prefix, session up', async () => {
    const [origin, asPath, nextHop] = basicAttributes([RAW_AS], ROOT);
    if (!origin || !asPath || !nextHop) throw new Error('basicAttributes changed');
    const cases: [string, BgpPathAttribute[]][] = [
      ['10.74.0.0/24', [origin, asPath]],
      [
        '10.75.0.0/24',
        [origin, { kind: 'as-path', segments: [{ type: 2, asns: [RAW_AS, OUR_AS] }] }, nextHop],
      ],
    ];
    for (const [prefix, attributes] of cases) {
      peer?.send(announceBytes([prefix], [origin, asPath, nextHop]));
      await waitForPrefix(prefix, true);
      peer?.send(announceBytes([prefix], attributes));
      await waitForPrefix(prefix, false);
    }
    expect(await prefixes()).toContain('10.73.0.0/24');
    expect(peer?.notification()).toBeUndefined();
    expect((await us.peer('raw')).state).toBe('Established');
  });

  it('an AS_CONFED segment from an eBGP peer withdraws the prefix (RFC 5065 §5, RFC 7606 §7.2)', async () => {
    const [origin, asPath, nextHop] = basicAttributes([RAW_AS], ROOT);
    if (!origin || !asPath || !nextHop) throw new Error('basicAttributes changed');
    peer?.send(announceBytes(['10.76.0.0/24'], [origin, asPath, nextHop]));
    await waitForPrefix('10.76.0.0/24', true);
    peer?.send(
      announceBytes(
        ['10.76.0.0/24'],
        [
          origin,
          {
            kind: 'as-path',
            segments: [
              { type: 3, asns: [65500] },
              { type: 2, asns: [RAW_AS] },
            ],
          },
          nextHop,
        ],
      ),
    );
    await waitForPrefix('10.76.0.0/24', false, 3000);
  });

  it('IPv4 NLRI prefix length 33: NOTIFICATION 3/10, session reset, the peer’s routes withdrawn', async () => {
    peer?.send(nlriLength33());
    const notification = await peer?.waitFor('a NOTIFICATION', (m) => m.type === 'notification', 10_000);
    expect(notification).toMatchObject({ type: 'notification', code: 3, subcode: 10 });
    await peer?.closed;
    const row = await waitUntil('our session to leave Established', async () => {
      const r = await us.peer('raw');
      return r.state === 'Established' ? undefined : r;
    });
    expect(row.lastError ?? '').toMatch(/3\/10|invalid network/i);
    await waitForPrefix('10.73.0.0/24', false);
    expect((await us.status()).locRib.prefixes).toBe(0);
    await waitUntil('our kernel empty of proto 201', async () =>
      (await kernelRoutes(lab(), 'us', { family: 4, protocol: 201 })).length === 0 ? true : undefined,
    );
  });
});

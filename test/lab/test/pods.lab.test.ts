// Lab test: static pods wired like Calico (veth, /32, 169.254.1.1 gateway, proxy ARP) on two hosts
// reach each other once the hosts route each other's pod ranges; pods and hosts added to a running
// lab work the same way; bare pods are only a namespace.
import { expect, it } from 'vitest';
import type { Topology } from '../src/topology.js';
import { describeLab, useLab } from '../src/vitest.js';

const topology: Topology = {
  name: 'static pods',
  subnets: [
    // The router gives the hosts a default route, which Calico-style proxy ARP needs.
    { name: 'a', cidr: '10.0.1.0/24', router: 'r1' },
    { name: 'a6', cidr: 'fd00:0:0:1::/64', segment: 'a' },
  ],
  routers: [{ name: 'r1', interfaces: [{ segment: 'a', addresses: ['10.0.1.1'] }] }],
  hosts: [
    { name: 'h1', interfaces: [{ segment: 'a', addresses: ['10.0.1.11', 'fd00:0:0:1::11'] }] },
    { name: 'h2', interfaces: [{ segment: 'a', addresses: ['10.0.1.12', 'fd00:0:0:1::12'] }] },
  ],
  pods: [
    { name: 'p1', host: 'h1', mode: 'static', addresses: ['10.65.1.2', 'fd00:65:1::2'] },
    { name: 'p2', host: 'h2', mode: 'static', addresses: ['10.65.2.2', 'fd00:65:2::2'] },
  ],
};

describeLab('lab: static pods', () => {
  const lab = useLab(topology);

  it('wires pods like Calico does', async () => {
    const podRoutes = await lab().exec('p1', ['ip', '-4', 'route', 'show'], { check: true });
    expect(
      podRoutes.stdout
        .trim()
        .split('\n')
        .map((line) => line.trim()),
    ).toEqual(['default via 169.254.1.1 dev eth0', '169.254.1.1 dev eth0 scope link']);
    const podAddresses = await lab().exec('p1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], {
      check: true,
    });
    expect(podAddresses.stdout).toContain('inet 10.65.1.2/32');
    const hostIf = lab().topology.pods.find((p) => p.name === 'p1')!.hostInterface;
    const link = await lab().exec('h1', ['ip', '-o', 'link', 'show', 'dev', hostIf], { check: true });
    expect(link.stdout).toContain('link/ether ee:ee:ee:ee:ee:ee');
    const sysctls = await lab().exec('h1', [
      'sysctl',
      '-n',
      `net.ipv4.conf.${hostIf}.proxy_arp`,
      'net.ipv4.ip_forward',
    ]);
    expect(sysctls.stdout.split('\n').slice(0, 2)).toEqual(['1', '1']);
    const hostRoute = await lab().exec('h1', ['ip', '-4', 'route', 'show', '10.65.1.2'], { check: true });
    expect(hostRoute.stdout.trim()).toBe(`10.65.1.2 dev ${hostIf} scope link`);
    expect((await lab().ping('p1', '10.0.1.11')).ok).toBe(true);
  });

  it('reaches a pod on the other host only once the hosts route the pod ranges', async () => {
    const before = await lab().ping('p1', '10.65.2.2', { timeoutMs: 1000 });
    expect(before.ok).toBe(false);
    await lab().exec('h1', ['ip', 'route', 'add', '10.65.2.0/24', 'via', '10.0.1.12'], { check: true });
    await lab().exec('h1', ['ip', '-6', 'route', 'add', 'fd00:65:2::/64', 'via', 'fd00:0:0:1::12'], {
      check: true,
    });
    await lab().exec('h2', ['ip', 'route', 'add', '10.65.1.0/24', 'via', '10.0.1.11'], { check: true });
    await lab().exec('h2', ['ip', '-6', 'route', 'add', 'fd00:65:1::/64', 'via', 'fd00:0:0:1::11'], {
      check: true,
    });

    const v4 = await lab().ping('p1', '10.65.2.2');
    expect(v4.ok, v4.output).toBe(true);
    const v6 = await lab().ping('p2', 'fd00:65:1::2', { timeoutMs: 3000 });
    expect(v6.ok, v6.output).toBe(true);
    const listener = await lab().tcpListen('p2');
    try {
      expect(await lab().tcpConnect('p1', '10.65.2.2', listener.port)).toEqual({
        ok: true,
        received: 'caracal-lab p2',
      });
      expect(await lab().tcpConnect('p1', 'fd00:65:2::2', listener.port)).toEqual({
        ok: true,
        received: 'caracal-lab p2',
      });
    } finally {
      await listener.stop();
    }
  });

  it('adds pods and hosts to the running lab', async () => {
    await lab().addPod({ name: 'p3', host: 'h2', mode: 'static', addresses: ['10.65.2.3'] });
    expect((await lab().ping('p1', '10.65.2.3')).ok).toBe(true);

    await lab().addPod({ name: 'bare1', host: 'h1', mode: 'bare' });
    const links = await lab().exec('bare1', ['ip', '-o', 'link', 'show'], { check: true });
    expect(links.stdout.trim().split('\n')).toHaveLength(1);
    expect(links.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(lab().nsName('bare1')).toBe(`${lab().runId}-bare1`);

    await lab().addHost({ name: 'h3', interfaces: [{ segment: 'a', addresses: ['10.0.1.13'] }] });
    expect((await lab().ping('h3', '10.0.1.11')).ok).toBe(true);

    await expect(
      lab().addPod({ name: 'p4', host: 'h2', mode: 'static', addresses: ['10.65.2.3'] }),
    ).rejects.toThrow('pods[4].addresses[0]: address 10.65.2.3 is already used at pods[2].addresses[0]');
    expect(() => lab().nsName('p4')).toThrow(/has no host, router or pod 'p4'/);
  });
});

// Lab test: 3 hosts on 2 subnets with a router between them (the demo topology). Hosts in different
// subnets reach each other only through the router (ping v4/v6, TCP, HTTP), a capture on the router
// sees the ICMP, and cutting the router's link breaks reachability until it is restored.
import { expect, it } from 'vitest';
import { demoTopology } from '../src/demo.js';
import { describeLab, useLab } from '../src/vitest.js';
import { waitUntil } from '../src/wait.js';

describeLab('lab: two subnets joined by a router', () => {
  const lab = useLab(demoTopology());

  it('gives hosts a default route via their subnet router and the router forwarding', async () => {
    const routes = await lab().exec('h3', ['ip', '-4', 'route', 'show', 'default'], { check: true });
    expect(routes.stdout.trim()).toBe('default via 10.0.2.1 dev eth0');
    const forwarding = await lab().exec('r1', [
      'sysctl',
      '-n',
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
    ]);
    expect(forwarding.stdout.split('\n').slice(0, 2)).toEqual(['1', '1']);
    const hostForwarding = await lab().exec('h1', ['sysctl', '-n', 'net.ipv4.ip_forward']);
    expect(hostForwarding.stdout.trim()).toBe('0');
  });

  it('pings across subnets over IPv4 and IPv6, and within a subnet', async () => {
    for (const [from, to, family] of [
      ['h1', 'h3', 4],
      ['h3', 'h1', 6],
      ['h1', 'h2', 4],
    ] as const) {
      const result = await lab().ping(from, lab().addressOf(to, family));
      expect(result.ok, `${from} -> ${to} IPv${family}: ${result.output}`).toBe(true);
      expect(result.rttMs).toBeGreaterThan(0);
    }
    const unreachable = await lab().ping('h1', '10.0.3.1', { timeoutMs: 1000 });
    expect(unreachable.ok).toBe(false);
  });

  it('connects over TCP and fetches over HTTP across the router', async () => {
    const listener = await lab().tcpListen('h3');
    try {
      const v4 = await lab().tcpConnect('h1', lab().addressOf('h3'), listener.port);
      expect(v4).toEqual({ ok: true, received: 'caracal-lab h3' });
      const v6 = await lab().tcpConnect('h2', lab().addressOf('h3', 6), listener.port);
      expect(v6).toEqual({ ok: true, received: 'caracal-lab h3' });
      const refused = await lab().tcpConnect('h1', lab().addressOf('h3'), listener.port === 1 ? 2 : 1);
      expect(refused).toEqual({ ok: false, error: 'ECONNREFUSED' });
    } finally {
      await listener.stop();
    }
    const server = await lab().httpServe('h1');
    try {
      const response = await lab().httpGet('h3', `http://${lab().addressOf('h1')}:${server.port}/hello`);
      expect(response).toEqual({ ok: true, status: 200, body: 'caracal-lab h1 GET /hello\n' });
      const v6 = await lab().httpGet('h3', `http://[${lab().addressOf('h1', 6)}]:${server.port}/six`);
      expect(v6.body).toBe('caracal-lab h1 GET /six\n');
    } finally {
      await server.stop();
    }
  });

  it('captures the forwarded ICMP on the router', async () => {
    const capture = await lab().capture('r1', 'eth1', 'icmp');
    const ping = await lab().ping('h1', lab().addressOf('h3'));
    expect(ping.ok).toBe(true);
    const reply = await capture.waitFor(
      'echo reply from h3',
      (p) => p.src === '10.0.2.13' && /echo reply/.test(p.summary),
    );
    expect(reply.dst).toBe('10.0.1.11');
    const packets = await capture.stop();
    const request = packets.find((p) => p.proto === 'icmp' && /echo request/.test(p.summary));
    expect(request).toMatchObject({ src: '10.0.1.11', dst: '10.0.2.13', proto: 'icmp' });
    expect(capture.process.running).toBe(false);
  });

  it('loses reachability while the router link is down and regains it after', async () => {
    await lab().setLinkState('r1', 'eth1', 'down');
    try {
      const cut = await lab().ping('h1', lab().addressOf('h3'), { timeoutMs: 1000 });
      expect(cut.ok).toBe(false);
    } finally {
      await lab().setLinkState('r1', 'eth1', 'up');
    }
    await waitUntil(
      'h1 to reach h3 again',
      async () => (await lab().ping('h1', lab().addressOf('h3'))).ok || undefined,
      {
        timeoutMs: 15_000,
      },
    );
  });

  it('runs long-lived processes with logs and a clean stop', async () => {
    const sleeper = await lab().spawn(
      'h2',
      ['sh', '-c', 'echo started in $(ip -o addr show eth0 | head -1 | cut -d" " -f7); exec sleep 600'],
      {
        name: 'sleeper',
      },
    );
    const line = await sleeper.waitForLog(/^started in/);
    expect(line).toBe('started in 10.0.1.12/24');
    expect(sleeper.logPath).toBe(`${lab().runDir}/h2/sleeper.log`);
    const exit = await sleeper.stop();
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    const slow = await lab().exec('h2', ['sleep', '5'], { timeoutMs: 200 });
    expect(slow).toMatchObject({ timedOut: true, code: null, signal: 'SIGKILL' });
  });
});

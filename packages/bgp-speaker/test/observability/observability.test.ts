// Tests of caracal-bgpd's metrics and health endpoints over real HTTP with a fake SpeakerView: values
// come from the view at scrape time and follow it; liveness/readiness answer 200/503 with reasons;
// metrics and health share one server when given the same port.
import { afterEach, describe, expect, it } from 'vitest';
import { type Observability, startObservability } from '../../src/observability/index.js';
import { FakeSpeakerView, peerRow } from '../control/fake-view.js';

const started: Observability[] = [];
afterEach(async () => {
  for (const observability of started.splice(0)) await observability.close();
});

async function start(fake: FakeSpeakerView, shared = false): Promise<Observability> {
  const observability = await startObservability({
    view: fake.view,
    metrics: { address: '127.0.0.1', port: 0 },
    // Same address and port (0 included) means one shared server; 127.0.0.2 is loopback too on Linux.
    health: { address: shared ? '127.0.0.1' : '127.0.0.2', port: 0 },
  });
  started.push(observability);
  return observability;
}

async function get(port: number | undefined, path: string, method = 'GET', host = '127.0.0.1') {
  const response = await fetch(`http://${host}:${port}${path}`, { method });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** Value of one sample, e.g. sample(text, 'caracal_bgp_prefixes{peer="node2",kind="received"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('observability endpoints', () => {
  it('exports the speaker’s state at scrape time and follows the view', async () => {
    const fake = new FakeSpeakerView();
    const observability = await start(fake);
    let scrape = await get(observability.metrics?.port, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.type).toContain('text/plain');
    const text = scrape.body;
    expect(sample(text, 'caracal_bgp_sessions{state="Established"}')).toBe(1);
    expect(sample(text, 'caracal_bgp_sessions{state="Active"}')).toBe(1);
    expect(sample(text, 'caracal_bgp_sessions{state="Idle"}')).toBe(0);
    expect(sample(text, 'caracal_bgp_peer_state{peer="node2",state="Established"}')).toBe(1);
    expect(sample(text, 'caracal_bgp_peer_state{peer="node2",state="Active"}')).toBe(0);
    expect(sample(text, 'caracal_bgp_peer_state{peer="upstream",state="Active"}')).toBe(1);
    expect(sample(text, 'caracal_bgp_updates_received_total{peer="node2"}')).toBe(12);
    expect(sample(text, 'caracal_bgp_updates_sent_total{peer="node2"}')).toBe(4);
    expect(sample(text, 'caracal_bgp_prefixes{peer="node2",kind="received"}')).toBe(10);
    expect(sample(text, 'caracal_bgp_prefixes{peer="node2",kind="accepted"}')).toBe(9);
    expect(sample(text, 'caracal_bgp_prefixes{peer="node2",kind="advertised"}')).toBe(3);
    expect(sample(text, 'caracal_bgp_prefixes{peer="upstream",kind="stale"}')).toBe(4);
    expect(sample(text, 'caracal_bgp_session_flaps_total{peer="upstream"}')).toBe(2);
    expect(sample(text, 'caracal_bgp_locrib_prefixes')).toBe(12);
    expect(sample(text, 'caracal_bgp_info{router_id="10.0.0.1",as="64512",version="0.1.0"}')).toBe(1);
    expect(text).toContain('# TYPE caracal_bgp_updates_received_total counter');
    expect(text).toContain('process_cpu_user_seconds_total');

    // The daemon moves on: upstream comes up, node2 goes away, more updates arrive.
    const [node2, upstream] = fake.statusData.peers;
    if (!node2 || !upstream) throw new Error('fixture');
    fake.statusData = {
      ...fake.statusData,
      peers: [
        peerRow({
          ...upstream,
          state: 'Established',
          uptimeSeconds: 5,
          messagesIn: { ...upstream.messagesIn, update: 40 },
          prefixes: { received: 7, accepted: 7, advertised: 2, stale: 0 },
        }),
      ],
      locRib: { prefixes: 30, paths: 31 },
    };
    scrape = await get(observability.metrics?.port, '/metrics');
    expect(sample(scrape.body, 'caracal_bgp_sessions{state="Established"}')).toBe(1);
    expect(sample(scrape.body, 'caracal_bgp_sessions{state="Active"}')).toBe(0);
    expect(sample(scrape.body, 'caracal_bgp_peer_state{peer="upstream",state="Established"}')).toBe(1);
    expect(sample(scrape.body, 'caracal_bgp_updates_received_total{peer="upstream"}')).toBe(40);
    expect(sample(scrape.body, 'caracal_bgp_prefixes{peer="upstream",kind="stale"}')).toBe(0);
    expect(sample(scrape.body, 'caracal_bgp_locrib_prefixes')).toBe(30);
    expect(scrape.body).not.toContain('peer="node2"');
  });

  it('answers liveness and readiness from the view, 503 with the reasons when not ready', async () => {
    const fake = new FakeSpeakerView();
    const observability = await start(fake);
    const port = observability.health?.port;
    expect(observability.health?.address).toBe('127.0.0.2');
    const health = (path: string, method = 'GET') => get(port, path, method, '127.0.0.2');
    expect(await health('/liveness')).toMatchObject({ status: 200, body: 'live\n' });
    expect(await health('/readiness')).toMatchObject({
      status: 200,
      body: '{"ready":true,"reasons":[]}\n',
    });
    fake.alive = false;
    fake.readinessReport = {
      ready: false,
      reasons: ['peer upstream is Active', 'restart: waiting for End-of-RIB'],
    };
    expect(await health('/liveness')).toMatchObject({ status: 503, body: 'not live\n' });
    const notReady = await health('/readiness');
    expect(notReady.status).toBe(503);
    expect(notReady.type).toBe('application/json');
    expect(JSON.parse(notReady.body)).toEqual({
      ready: false,
      reasons: ['peer upstream is Active', 'restart: waiting for End-of-RIB'],
    });
    // Each server serves its own paths only.
    expect((await health('/metrics')).status).toBe(404);
    expect((await get(observability.metrics?.port, '/readiness')).status).toBe(404);
    expect(await health('/readiness', 'POST')).toMatchObject({
      status: 405,
      body: 'method POST not allowed\n',
    });
  });

  it('serves metrics and health on one port when both are given the same one', async () => {
    const fake = new FakeSpeakerView();
    const first = await start(fake, true);
    const port = first.metrics?.port ?? 0;
    expect(first.health).toEqual(first.metrics); // both asked 127.0.0.1 port 0: one server
    expect((await get(port, '/readiness')).status).toBe(200);
    await first.close();
    started.splice(0);
    const shared = await startObservability({
      view: fake.view,
      metrics: { address: '127.0.0.1', port },
      health: { address: '127.0.0.1', port },
    });
    started.push(shared);
    expect(shared.health).toEqual(shared.metrics);
    expect((await get(port, '/metrics')).status).toBe(200);
    expect((await get(port, '/liveness')).status).toBe(200);
    expect((await get(port, '/nope')).body).toBe('not found; try /metrics, /liveness, /readiness\n');
  });

  it('names the address it cannot listen on', async () => {
    const fake = new FakeSpeakerView();
    const first = await start(fake);
    const busy = first.metrics?.port;
    await expect(
      startObservability({
        view: fake.view,
        metrics: { address: '127.0.0.1', port: 0 },
        health: { address: '127.0.0.1', port: busy ?? 1 },
      }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1 port ${busy}: EADDRINUSE`);
  });
});

// Unit tests of the plugin logic with fakes: ADD wires and records, a failed wiring gives the address back,
// DEL is idempotent, CHECK names what is missing, a missing netns is code 3.
import { describe, expect, it } from 'vitest';
import type { EndpointRecord, EndpointStore, IpamDelegate, WorkloadIdentity } from '../src/plugin.js';
import { runPlugin } from '../src/plugin.js';
import type { PodNetworking, PodWiring, PodWiringState } from '../src/pod-network.js';
import { CniError, CniErrorCode, parseEnvironment, parseNetworkConfig } from '../src/spec.js';

const config = parseNetworkConfig(
  '{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"caracal","nodename":"node1","mtu":1450,"ipam":{"type":"caracal-ipam"}}',
);
const env = (command: string) =>
  parseEnvironment({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/var/run/netns/pod1',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
  });

class FakeNetworking implements PodNetworking {
  wired = new Map<string, PodWiring>();
  namespaces = new Set(['/var/run/netns/pod1']);
  failWire = false;
  dropIpv6DefaultRoute = false;
  async netnsExists(netns: string) {
    return this.namespaces.has(netns);
  }
  async wire(w: PodWiring) {
    if (this.failWire) throw new CniError(CniErrorCode.IoFailure, 'wire failed');
    this.wired.set(w.hostIfName, w);
    return { podMac: '02:00:00:00:00:01' };
  }
  async unwire(host: string) {
    this.wired.delete(host);
  }
  async inspect(w: PodWiring): Promise<PodWiringState> {
    const made = this.wired.get(w.hostIfName);
    return {
      hostIfExists: made !== undefined,
      hostMac: made ? 'ee:ee:ee:ee:ee:ee' : undefined,
      podIfExists: made !== undefined,
      podMac: made ? '02:00:00:00:00:01' : undefined,
      podAddresses: made?.addresses ?? [],
      podHasDefaultRoute: made !== undefined,
      podHasIpv6DefaultRoute: made !== undefined && !this.dropIpv6DefaultRoute,
      hostRoutes: made?.addresses ?? [],
    };
  }
}

class FakeIpam implements IpamDelegate {
  allocated = new Map<string, string>();
  next = 1;
  dualStack = false;
  async add() {
    const n = this.next++;
    const address = `10.65.0.${n}/32`;
    this.allocated.set('c1', address);
    const ips = [{ address }, ...(this.dualStack ? [{ address: `fd00:65::${n}/128` }] : [])];
    return { cniVersion: '1.0.0', ips };
  }
  async del() {
    this.allocated.delete('c1');
  }
  async check() {}
  async status() {}
}

class FakeEndpoints implements EndpointStore {
  records = new Map<string, EndpointRecord>();
  async put(record: EndpointRecord) {
    this.records.set(record.identity.workload, record);
  }
  async remove(identity: WorkloadIdentity) {
    this.records.delete(identity.workload);
  }
}

function deps() {
  return {
    networking: new FakeNetworking(),
    ipam: new FakeIpam(),
    endpoints: new FakeEndpoints(),
    defaultNodeName: 'fallback',
  };
}

describe('caracal plugin', () => {
  it('ADD wires the pod, records the endpoint and returns a spec result', async () => {
    const d = deps();
    const result = await runPlugin(config, env('ADD'), d);
    expect(result).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cara0d7763386da', mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/pod1' },
      ],
      ips: [{ address: '10.65.0.1/32', interface: 1, gateway: '169.254.1.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
    });
    expect(d.networking.wired.get('cara0d7763386da')).toMatchObject({ mtu: 1450, podIfName: 'eth0' });
    expect(d.endpoints.records.get('default/web-0')).toMatchObject({
      identity: { node: 'node1', orchestrator: 'k8s', namespace: 'default', pod: 'web-0', endpoint: 'eth0' },
      interfaceName: 'cara0d7763386da',
      ipNetworks: ['10.65.0.1/32'],
    });
  });

  it('ADD into a missing netns fails with code 3 and allocates nothing', async () => {
    const d = deps();
    d.networking.namespaces.clear();
    await expect(runPlugin(config, env('ADD'), d)).rejects.toMatchObject({
      code: CniErrorCode.UnknownContainer,
    });
    expect(d.ipam.allocated.size).toBe(0);
  });

  it('a failed wiring gives the address back and leaves nothing', async () => {
    const d = deps();
    d.networking.failWire = true;
    await expect(runPlugin(config, env('ADD'), d)).rejects.toThrow('wire failed');
    expect(d.ipam.allocated.size).toBe(0);
    expect(d.endpoints.records.size).toBe(0);
  });

  it('DEL is idempotent', async () => {
    const d = deps();
    await runPlugin(config, env('ADD'), d);
    await runPlugin(config, env('DEL'), d);
    await runPlugin(config, env('DEL'), d);
    expect(d.networking.wired.size).toBe(0);
    expect(d.ipam.allocated.size).toBe(0);
    expect(d.endpoints.records.size).toBe(0);
  });

  it('CHECK passes after ADD and names what is missing after tampering', async () => {
    const d = deps();
    const result = await runPlugin(config, env('ADD'), d);
    const withPrev = { ...config, prevResult: result as never };
    await expect(runPlugin(withPrev, env('CHECK'), d)).resolves.toBeUndefined();
    d.networking.wired.clear();
    await expect(runPlugin(withPrev, env('CHECK'), d)).rejects.toThrow(
      'CHECK failed: host interface cara0d7763386da is missing; pod interface eth0 is missing in /var/run/netns/pod1',
    );
  });

  it('dual stack: both addresses wired and recorded, an IPv6 default route, CHECK names a missing one', async () => {
    const d = deps();
    d.ipam.dualStack = true;
    const result = await runPlugin(config, env('ADD'), d);
    expect(result).toMatchObject({
      ips: [
        { address: '10.65.0.1/32', interface: 1, gateway: '169.254.1.1' },
        { address: 'fd00:65::1/128', interface: 1 },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0' }],
    });
    expect(d.networking.wired.get('cara0d7763386da')?.addresses).toEqual(['10.65.0.1/32', 'fd00:65::1/128']);
    expect(d.endpoints.records.get('default/web-0')?.ipNetworks).toEqual(['10.65.0.1/32', 'fd00:65::1/128']);
    const withPrev = { ...config, prevResult: result as never };
    await expect(runPlugin(withPrev, env('CHECK'), d)).resolves.toBeUndefined();
    d.networking.dropIpv6DefaultRoute = true;
    await expect(runPlugin(withPrev, env('CHECK'), d)).rejects.toThrow(
      "CHECK failed: pod has no IPv6 default route via the host veth's link-local address",
    );
  });

  it('pre-1.0 results name each IP version', async () => {
    const d = deps();
    d.ipam.dualStack = true;
    const legacy = parseNetworkConfig(JSON.stringify({ ...config.raw, cniVersion: '0.3.1' }));
    const result = (await runPlugin(legacy, env('ADD'), d)) as { cniVersion: string; ips: object[] };
    expect(result.cniVersion).toBe('0.3.1');
    expect(result.ips).toEqual([
      { version: '4', address: '10.65.0.1/32', interface: 1, gateway: '169.254.1.1' },
      { version: '6', address: 'fd00:65::1/128', interface: 1 },
    ]);
  });
});

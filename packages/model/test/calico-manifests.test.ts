// Calico v3 manifests as written in Calico's documentation are accepted unchanged and stored as caracal.io/v1.
import { describe, expect, it } from 'vitest';
import { parseManifests, toYaml } from '../src/index.js';

const calicoManifests = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  cidr: 192.168.0.0/16
  blockSize: 26
  ipipMode: CrossSubnet
  natOutgoing: true
  nodeSelector: all()
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: false
  asNumber: 63400
  serviceClusterIPs:
  - cidr: 10.96.0.0/12
  communities:
  - name: bgp-large-community
    value: 63400:300:100
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack1-tor
spec:
  peerIP: 192.20.30.40
  asNumber: 64567
  nodeSelector: rack == 'rack-1'
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: peer-with-route-reflectors
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-ping-and-web
spec:
  order: 100
  selector: has(app)
  ingress:
  - action: Allow
    protocol: ICMP
    icmp:
      type: 8
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'frontend'
      nets: ["10.0.0.0/8"]
    destination:
      ports: [80, 443, "8000:8080"]
  egress:
  - action: Allow
`;

describe('Calico v3 manifests', () => {
  const documents = parseManifests(calicoManifests, 'calico.yaml');

  it('accepts every document and stores it as caracal.io/v1', () => {
    expect(documents.map((d) => [d.kind, d.name, d.problems])).toEqual([
      ['IPPool', 'default-ipv4-ippool', []],
      ['BGPConfiguration', 'default', []],
      ['BGPPeer', 'rack1-tor', []],
      ['BGPPeer', 'peer-with-route-reflectors', []],
      ['GlobalNetworkPolicy', 'allow-ping-and-web', []],
    ]);
    for (const document of documents) expect(document.resource?.apiVersion).toBe('caracal.io/v1');
    expect(documents.map((d) => d.line)).toEqual([1, 12, 26, 35, 43]);
  });

  it('keeps Calico field values and fills Calico defaults', () => {
    expect(documents[0]?.resource?.spec).toEqual({
      cidr: '192.168.0.0/16',
      blockSize: 26,
      ipipMode: 'CrossSubnet',
      vxlanMode: 'Never',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    });
    expect(documents[1]?.resource?.spec).toMatchObject({
      asNumber: 63400,
      nodeToNodeMeshEnabled: false,
      listenPort: 179,
    });
    expect(documents[4]?.resource?.spec).toMatchObject({ order: 100, types: ['Ingress', 'Egress'] });
    expect(toYaml(documents[0]?.resource as never)).toMatch(
      /^apiVersion: caracal.io\/v1\nkind: IPPool\nmetadata:\n {2}name: default-ipv4-ippool\n/,
    );
  });
});

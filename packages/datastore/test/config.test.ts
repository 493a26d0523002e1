// Endpoint and TLS configuration resolution (option > environment > default) and key builders.
import { describe, expect, it } from 'vitest';
import {
  cidrToKeySegment,
  DatastoreConfigError,
  keySegmentToCidr,
  keys,
  kindToPlural,
  resolveDatastoreConfig,
  resolveEndpoints,
} from '../src/index.js';

describe('resolveEndpoints', () => {
  it('prefers the explicit option, then ETCD_ENDPOINTS, then the local default', () => {
    const env = { ETCD_ENDPOINTS: 'http://10.0.0.2:2379' };
    expect(resolveEndpoints('http://10.0.0.1:2379, https://etcd.example:4001', env)).toEqual([
      'http://10.0.0.1:2379',
      'https://etcd.example:4001',
    ]);
    expect(resolveEndpoints(undefined, env)).toEqual(['http://10.0.0.2:2379']);
    expect(resolveEndpoints('', env)).toEqual(['http://10.0.0.2:2379']);
    expect(resolveEndpoints(undefined, {})).toEqual(['http://127.0.0.1:2379']);
    expect(resolveEndpoints(['http://[fd00::1]:2379'], {})).toEqual(['http://[fd00::1]:2379']);
    expect(resolveEndpoints('http://10.0.0.1', {})).toEqual(['http://10.0.0.1:2379']);
  });

  it('names the bad endpoint and where it came from', () => {
    expect(() => resolveEndpoints('10.0.0.1:2379', {})).toThrow(/--etcd-endpoints: endpoint "10.0.0.1:2379"/);
    expect(() => resolveEndpoints(undefined, { ETCD_ENDPOINTS: 'ftp://x:1' })).toThrow(
      /ETCD_ENDPOINTS: endpoint "ftp:\/\/x:1" has scheme "ftp"/,
    );
    expect(() => resolveEndpoints('http://x:1/v3', {})).toThrow(/must not have a path/);
    expect(() => resolveEndpoints(' , ', {})).toThrow(DatastoreConfigError);
  });
});

describe('resolveDatastoreConfig', () => {
  it('takes TLS files from options, else from the environment', () => {
    const env = {
      ETCD_ENDPOINTS: 'https://10.0.0.1:2379',
      ETCD_CA_CERT_FILE: '/env/ca.pem',
      ETCD_CERT_FILE: '/env/cert.pem',
      ETCD_KEY_FILE: '/env/key.pem',
    };
    expect(resolveDatastoreConfig({}, env)).toEqual({
      endpoints: ['https://10.0.0.1:2379'],
      caCertFile: '/env/ca.pem',
      certFile: '/env/cert.pem',
      keyFile: '/env/key.pem',
    });
    expect(resolveDatastoreConfig({ caCertFile: '/opt/ca.pem' }, env).caCertFile).toBe('/opt/ca.pem');
  });

  it('refuses a certificate without its key, TLS files with http endpoints, and bad timeouts', () => {
    expect(() => resolveDatastoreConfig({ endpoints: 'https://a:1', certFile: '/c.pem' }, {})).toThrow(
      /--etcd-cert-file\/ETCD_CERT_FILE \(\/c.pem\) is set but --etcd-key-file\/ETCD_KEY_FILE is not/,
    );
    expect(() => resolveDatastoreConfig({ endpoints: 'http://a:1', caCertFile: '/ca.pem' }, {})).toThrow(
      /endpoint\(s\) http:\/\/a:1 use http:\/\//,
    );
    expect(() => resolveDatastoreConfig({ requestTimeoutMs: 0 }, {})).toThrow(/requestTimeoutMs: 0/);
  });
});

describe('keys', () => {
  it('builds the documented layout', () => {
    expect(keys.resource('IPPool', 'default')).toBe('/caracal/v1/resources/ippools/_cluster/default');
    expect(keys.resource('WorkloadEndpoint', 'pod-1', 'ns')).toBe(
      '/caracal/v1/resources/workloadendpoints/ns/pod-1',
    );
    expect(keys.block('10.0.0.0/26')).toBe('/caracal/v1/ipam/blocks/10.0.0.0-26');
    expect(keys.affinity('node-1', 'fd00::/122')).toBe('/caracal/v1/ipam/affinities/node-1/fd00::-122');
    expect(keys.handle('k8s-pod.abc')).toBe('/caracal/v1/ipam/handles/k8s-pod.abc');
    expect(keys.ipamConfig).toBe('/caracal/v1/ipam/config');
    expect(keySegmentToCidr(cidrToKeySegment('fd00:1::/64'))).toBe('fd00:1::/64');
  });

  it('pluralises kinds and rejects unsafe segments', () => {
    expect(
      ['Node', 'IPPool', 'BGPPeer', 'NetworkPolicy', 'BGPConfiguration', 'Address'].map(kindToPlural),
    ).toEqual(['nodes', 'ippools', 'bgppeers', 'networkpolicies', 'bgpconfigurations', 'addresses']);
    expect(() => keys.resource('IPPool', 'a/b')).toThrow(/name "a\/b" must not contain "\/"/);
    expect(() => keys.block('10.0.0.0')).toThrow(/CIDR "10.0.0.0" is not of the form/);
    expect(() => keys.handle('')).toThrow(/handle must be a non-empty string/);
  });
});

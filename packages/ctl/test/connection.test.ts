// Where caracalctl looks for etcd: flag over environment over default, endpoint syntax errors that name
// the flag, and the advice printed when nothing answers.
import { describe, expect, it } from 'vitest';
import { conciseCause, resolveConnection, unreachableDatastoreMessage } from '../src/connection.js';
import { UsageError } from '../src/errors.js';

describe('resolveConnection', () => {
  it('defaults to http://127.0.0.1:2379', () => {
    expect(resolveConnection({}, { env: {} })).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      endpointsSource: 'default',
    });
  });

  it('the flag wins over ETCD_ENDPOINTS, which wins over the default', () => {
    const env = { ETCD_ENDPOINTS: 'http://10.0.0.1:2379,http://10.0.0.2:2379' };
    expect(resolveConnection({}, { env }).endpoints).toEqual([
      'http://10.0.0.1:2379',
      'http://10.0.0.2:2379',
    ]);
    expect(resolveConnection({}, { env }).endpointsSource).toBe('ETCD_ENDPOINTS');
    const flagged = resolveConnection({ etcdEndpoints: 'https://db:2379' }, { env });
    expect(flagged.endpoints).toEqual(['https://db:2379']);
    expect(flagged.endpointsSource).toBe('--etcd-endpoints');
  });

  it('TLS files from flags or environment; cert without key is an error', () => {
    const settings = resolveConnection(
      { etcdCaCertFile: '/ca.pem' },
      {
        env: {
          ETCD_ENDPOINTS: 'https://etcd.example:2379',
          ETCD_CERT_FILE: '/c.pem',
          ETCD_KEY_FILE: '/k.pem',
        },
      },
    );
    expect(settings).toMatchObject({ caCertFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
    expect(() => resolveConnection({ etcdCertFile: '/c.pem' }, { env: {} })).toThrow(/--etcd-key-file/);
  });

  it('rejects endpoints that are not http(s) URLs, naming the flag', () => {
    expect(() => resolveConnection({ etcdEndpoints: '127.0.0.1:2379' }, { env: {} })).toThrow(UsageError);
    expect(() => resolveConnection({ etcdEndpoints: 'ftp://x' }, { env: {} })).toThrow(
      /--etcd-endpoints.*http/,
    );
    expect(() => resolveConnection({}, { env: { ETCD_ENDPOINTS: 'nope' } })).toThrow(/ETCD_ENDPOINTS/);
  });

  it('the unreachable message names the endpoints, their origin and the way out', () => {
    const text = unreachableDatastoreMessage(resolveConnection({}, { env: {} }), 'connection refused');
    expect(text).toContain('http://127.0.0.1:2379');
    expect(text).toContain('neither --etcd-endpoints nor ETCD_ENDPOINTS');
    expect(text).toContain('caracalctl datastore start');
  });
});

describe('conciseCause', () => {
  it('keeps the socket error of a gRPC message', () => {
    expect(
      conciseCause(
        '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
      ),
    ).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(conciseCause('4 DEADLINE_EXCEEDED: Deadline exceeded')).toBe(
      'no answer before the request deadline',
    );
    expect(conciseCause(' other ')).toBe('other');
  });
});

describe("the datastore's own settings checks", () => {
  it('TLS files with an http:// endpoint are a usage error', () => {
    expect(() => resolveConnection({ etcdCaCertFile: '/ca.pem' }, { env: {} })).toThrow(
      /TLS files are set but endpoint\(s\) http:\/\/127\.0\.0\.1:2379 use http:\/\//,
    );
    expect(
      resolveConnection(
        { etcdCaCertFile: '/ca.pem', etcdEndpoints: 'https://etcd.example:2379' },
        { env: {} },
      ).caCertFile,
    ).toBe('/ca.pem');
  });
});

// TLS with client certificates against a real etcd started with --client-cert-auth: a CA, server and
// client certificates are generated with openssl per run; a trusted client pair works (options and
// ETCD_* environment variables), a missing or foreign client certificate is refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDatastore,
  DatastoreTlsError,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  resolveDatastoreConfig,
  EtcdKeyValueStore as Store,
  TestEtcd,
} from '../src/index.js';
import { record, waitFor } from './watch-helpers.js';

const OPENSSL = '/usr/bin/openssl';
const skipReason =
  etcdUnavailableReason() ??
  (existsSync(OPENSSL) ? undefined : `${OPENSSL} is missing (add openssl to the packages)`);
if (skipReason !== undefined) console.log(`SKIP datastore TLS etcd tests: ${skipReason}`);

/** Runs openssl with a space-separated argument string (no argument here contains a space). */
function openssl(args: string, cwd: string): void {
  execFileSync(OPENSSL, args.split(' '), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates a self-signed CA: <ca>.pem and <ca>-key.pem. */
function makeCa(dir: string, ca: string): void {
  openssl(
    `req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=${ca} -keyout ${ca}-key.pem -out ${ca}.pem`,
    dir,
  );
}

/** Creates <name>.pem/<name>-key.pem for 127.0.0.1 with the given extendedKeyUsage, signed by <ca>. */
function makeLeaf(dir: string, ca: string, name: string, usage: string): void {
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\n`,
  );
  openssl(`req -newkey rsa:2048 -nodes -subj /CN=${name} -keyout ${name}-key.pem -out ${name}.csr`, dir);
  openssl(
    `x509 -req -in ${name}.csr -CA ${ca}.pem -CAkey ${ca}-key.pem -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.pem`,
    dir,
  );
}

describe.skipIf(skipReason !== undefined)('TLS with client certificates against a real etcd', () => {
  let dir: string;
  let etcd: TestEtcd;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caracal-etcd-tls-'));
    makeCa(dir, 'ca');
    makeLeaf(dir, 'ca', 'server', 'serverAuth');
    makeLeaf(dir, 'ca', 'client', 'clientAuth');
    makeCa(dir, 'rogue-ca');
    makeLeaf(dir, 'rogue-ca', 'rogue', 'clientAuth');
    etcd = await TestEtcd.start({
      tls: {
        certFile: file('server.pem'),
        keyFile: file('server-key.pem'),
        trustedCaFile: file('ca.pem'),
        clientCertAuth: true,
        probeCertFile: file('client.pem'),
        probeKeyFile: file('client-key.pem'),
      },
    });
  });
  afterAll(async () => {
    await etcd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves https and accepts a client certificate signed by the trusted CA (options)', async () => {
    expect(etcd.endpoints[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const store = etcd.connect({
      caCertFile: file('ca.pem'),
      certFile: file('client.pem'),
      keyFile: file('client-key.pem'),
    });
    const revision = await store.create('/tls/a', 'secret');
    expect((await store.get('/tls/a'))?.revision).toBe(revision);
    const recorder = record(store.watchPrefix('/tls/'));
    await waitFor('in-sync over TLS', () => recorder.events.some((event) => event.type === 'in-sync'));
    await store.put('/tls/b', 'x');
    await waitFor('delta over TLS', () => recorder.events.some((event) => event.type === 'put'));
    recorder.subscription.unsubscribe();
  });

  it('takes the TLS files from ETCD_ENDPOINTS / ETCD_CA_CERT_FILE / ETCD_CERT_FILE / ETCD_KEY_FILE', async () => {
    const config = resolveDatastoreConfig(
      {},
      {
        ETCD_ENDPOINTS: etcd.endpoints.join(','),
        ETCD_CA_CERT_FILE: file('ca.pem'),
        ETCD_CERT_FILE: file('client.pem'),
        ETCD_KEY_FILE: file('client-key.pem'),
      },
    );
    const store = new Store(config);
    try {
      expect((await store.get('/tls/a'))?.value).toBe('secret');
    } finally {
      await store.close();
    }
  });

  async function refused(options: { certFile?: string; keyFile?: string }): Promise<unknown> {
    const store: EtcdKeyValueStore = connectDatastore({
      endpoints: etcd.endpoints,
      caCertFile: file('ca.pem'),
      requestTimeoutMs: 2000,
      ...options,
    });
    try {
      return await store.get('/tls/a').then(
        () => 'answered',
        (error: unknown) => error,
      );
    } finally {
      await store.close();
    }
  }

  it('is refused without a client certificate', async () => {
    const outcome = await refused({});
    expect(outcome).toBeInstanceOf(DatastoreTlsError);
    expect((outcome as Error).message).toMatch(
      /TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed .*--etcd-cert-file/,
    );
  });

  it('is refused with a client certificate from another CA', async () => {
    const outcome = await refused({ certFile: file('rogue.pem'), keyFile: file('rogue-key.pem') });
    expect(outcome).toBeInstanceOf(DatastoreTlsError);
  });

  it('names an unreadable TLS file and its flag', () => {
    expect(() => connectDatastore({ endpoints: etcd.endpoints, caCertFile: file('absent.pem') })).toThrow(
      /CA certificate \(--etcd-ca-cert-file\) .*absent\.pem cannot be read/,
    );
  });
});

// The --etcd-ca-cert-file / --etcd-cert-file / --etcd-key-file flags (and their ETCD_* variables) reach
// a REAL etcd that requires client certificates: certificates made with openssl per run, the built
// executable writes and reads through them, and without a client certificate it is refused (exit 1).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestEtcd } from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli } from './built-cli.js';

const openssl = '/usr/bin/openssl';
const skipReason = existsSync(openssl) ? undefined : `${openssl} is missing`;
if (skipReason !== undefined) console.log(`SKIP caracalctl TLS tests: ${skipReason}`);

function run(dir: string, args: string[]): void {
  execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a certificate for 127.0.0.1 signed by it with the given extendedKeyUsage. */
function makeCertificates(dir: string): void {
  run(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=ctl-test-ca',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
  ]);
  for (const [name, usage] of [
    ['server', 'serverAuth'],
    ['client', 'clientAuth'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:127.0.0.1\nextendedKeyUsage=${usage}\n`);
    run(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    ]);
    run(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  }
}

describe.skipIf(skipReason !== undefined)('caracalctl over TLS with client certificates', () => {
  let dir: string;
  let etcd: TestEtcd;
  let endpoint: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    await buildPackagesForLab(['packages/ctl']);
    dir = mkdtempSync(join(tmpdir(), 'caracalctl-tls-'));
    makeCertificates(dir);
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
    endpoint = etcd.endpoints[0] as string;
  }, 120_000);

  afterAll(async () => {
    await etcd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('flags: apply and get through the client certificate', async () => {
    writeFileSync(
      file('pool.yaml'),
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tls-pool}\nspec: {cidr: 10.77.0.0/16}\n',
    );
    const flags = [
      '--etcd-endpoints',
      endpoint,
      '--etcd-ca-cert-file',
      file('ca.pem'),
      '--etcd-cert-file',
      file('client.pem'),
      '--etcd-key-file',
      file('client-key.pem'),
    ];
    const applied = await runBuiltCli([...flags, 'apply', '-f', file('pool.yaml')]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe('ippool/tls-pool created\n');
    const status = await runBuiltCli([...flags, 'datastore', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${endpoint}   healthy`);
  });

  it('environment: ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE', async () => {
    const got = await runBuiltCli(['get', 'ippool', 'tls-pool', '-o', 'json'], {
      env: {
        ETCD_ENDPOINTS: endpoint,
        ETCD_CA_CERT_FILE: file('ca.pem'),
        ETCD_CERT_FILE: file('client.pem'),
        ETCD_KEY_FILE: file('client-key.pem'),
      },
    });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout).spec.cidr).toBe('10.77.0.0/16');
  });

  it('without a client certificate the datastore refuses: exit 1 naming the endpoint', async () => {
    const refused = await runBuiltCli([
      '--etcd-endpoints',
      endpoint,
      '--etcd-ca-cert-file',
      file('ca.pem'),
      'get',
      'ippool',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`endpoints tried: ${endpoint} (from --etcd-endpoints)`);
  });
});

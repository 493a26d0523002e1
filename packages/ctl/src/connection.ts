// Where the datastore is: the global flags --etcd-endpoints / --etcd-ca-cert-file / --etcd-cert-file /
// --etcd-key-file, else the environment (ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE,
// ETCD_KEY_FILE, as calicoctl), else http://127.0.0.1:2379. Also the message printed when nothing
// answers there: which endpoints were tried, where they came from, and how to start or point at one.

import { DatastoreConfigError, resolveDatastoreConfig } from '@caracal/datastore';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

export const defaultEtcdEndpoint = 'http://127.0.0.1:2379';

export interface GlobalOptions {
  readonly etcdEndpoints?: string;
  readonly etcdCaCertFile?: string;
  readonly etcdCertFile?: string;
  readonly etcdKeyFile?: string;
  readonly runDir?: string;
}

export interface ConnectionSettings {
  readonly endpoints: readonly string[];
  /** Where the endpoints came from: the flag, the environment variable, or the built-in default. */
  readonly endpointsSource: '--etcd-endpoints' | 'ETCD_ENDPOINTS' | 'default';
  readonly caCertFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Splits a comma-separated endpoint list and checks each is an http(s) URL. */
export function parseEndpointList(text: string, origin: string): string[] {
  const endpoints = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (endpoints.length === 0)
    throw new UsageError(`${origin}: no endpoint given (expected e.g. ${defaultEtcdEndpoint})`);
  for (const endpoint of endpoints) {
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(endpoint)) {
      throw new UsageError(`${origin}: "${endpoint}" is not a URL (expected e.g. ${defaultEtcdEndpoint})`);
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`${origin}: "${endpoint}" is not a URL (expected e.g. ${defaultEtcdEndpoint})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`${origin}: "${endpoint}" must use http:// or https://`);
    }
  }
  return endpoints;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function resolveConnection(options: GlobalOptions, io: Pick<CliIo, 'env'>): ConnectionSettings {
  const flag = nonEmpty(options.etcdEndpoints);
  const fromEnv = nonEmpty(io.env.ETCD_ENDPOINTS);
  const endpoints =
    flag !== undefined
      ? parseEndpointList(flag, '--etcd-endpoints')
      : fromEnv !== undefined
        ? parseEndpointList(fromEnv, 'ETCD_ENDPOINTS')
        : [defaultEtcdEndpoint];
  const endpointsSource =
    flag !== undefined ? '--etcd-endpoints' : fromEnv !== undefined ? 'ETCD_ENDPOINTS' : 'default';
  const caCertFile = nonEmpty(options.etcdCaCertFile) ?? nonEmpty(io.env.ETCD_CA_CERT_FILE);
  const certFile = nonEmpty(options.etcdCertFile) ?? nonEmpty(io.env.ETCD_CERT_FILE);
  const keyFile = nonEmpty(options.etcdKeyFile) ?? nonEmpty(io.env.ETCD_KEY_FILE);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      certFile === undefined
        ? '--etcd-key-file was given without --etcd-cert-file (a client certificate needs both)'
        : '--etcd-cert-file was given without --etcd-key-file (a client certificate needs both)',
    );
  }
  // The datastore's own checks too (TLS files only with https:// endpoints, ...), as usage errors.
  try {
    resolveDatastoreConfig({ endpoints, caCertFile, certFile, keyFile }, {});
  } catch (error) {
    if (error instanceof DatastoreConfigError) throw new UsageError(error.message);
    throw error;
  }
  return {
    endpoints,
    endpointsSource,
    ...(caCertFile === undefined ? {} : { caCertFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  };
}

/** The useful part of a gRPC connection error ("connect ECONNREFUSED 127.0.0.1:2379"), else all of it. */
export function conciseCause(cause: string): string {
  const socketError = /connect (E[A-Z]+) (\S+?)\.?(?:\s|$)/.exec(cause);
  if (socketError !== null) return `connect ${socketError[1]} ${socketError[2]}`;
  if (/DEADLINE|Deadline/.test(cause)) return 'no answer before the request deadline';
  return cause.trim();
}

/** The advice printed when no endpoint answered. */
export function unreachableDatastoreMessage(settings: ConnectionSettings, cause: string): string {
  const origin =
    settings.endpointsSource === 'default'
      ? 'the default, since neither --etcd-endpoints nor ETCD_ENDPOINTS is set'
      : `from ${settings.endpointsSource}`;
  return [
    `cannot reach the datastore (etcd): ${conciseCause(cause)}`,
    `  endpoints tried: ${settings.endpoints.join(', ')} (${origin})`,
    '  to run a local single-member etcd on this machine: caracalctl datastore start',
    '  to use another cluster: --etcd-endpoints https://host:2379[,...] or ETCD_ENDPOINTS',
    '  (with TLS: --etcd-ca-cert-file, --etcd-cert-file, --etcd-key-file)',
  ].join('\n');
}

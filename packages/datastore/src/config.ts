// Datastore connection settings: where etcd is (endpoints) and how to authenticate to it (TLS files),
// resolved from explicit options first, then the ETCD_* environment variables, then the local default.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** The endpoint used when neither an option nor ETCD_ENDPOINTS names one. */
export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/** How to reach etcd. Mirrors the CLI flags --etcd-endpoints, --etcd-ca-cert-file, --etcd-cert-file, --etcd-key-file. */
export interface DatastoreConfig {
  /** `http://host:port` or `https://host:port` URLs; at least one. */
  endpoints: string[];
  /** PEM file of the CA that signed etcd's server certificate (needed for https endpoints with a private CA). */
  caCertFile?: string;
  /** PEM client certificate presented to etcd (client-cert auth); requires keyFile. */
  certFile?: string;
  /** PEM private key of certFile. */
  keyFile?: string;
  /**
   * Milliseconds a single unary request may take in total, connecting included (default 3000), so a CLI
   * does not hang on an endpoint that does not answer.
   */
  requestTimeoutMs?: number;
}

/** The raw, optional inputs: CLI flag values, typically. Undefined/empty fields fall back to the environment. */
export interface DatastoreOptions {
  /** Comma-separated list or array, e.g. `--etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379`. */
  endpoints?: string | string[] | undefined;
  caCertFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  requestTimeoutMs?: number | undefined;
}

/** Thrown for malformed endpoints or inconsistent TLS settings; the message names the offending input. */
export class DatastoreConfigError extends Error {
  override readonly name = 'DatastoreConfigError';
}

/** Parses and validates one endpoint URL; `where` names its origin for the error message. */
function parseEndpoint(raw: string, where: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DatastoreConfigError(
      `${where}: endpoint "${text}" is not a URL; expected http://host:port or https://host:port`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DatastoreConfigError(
      `${where}: endpoint "${text}" has scheme "${url.protocol.replace(':', '')}"; expected http or https`,
    );
  }
  if (url.hostname === '') throw new DatastoreConfigError(`${where}: endpoint "${text}" has no host`);
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new DatastoreConfigError(`${where}: endpoint "${text}" must not have a path ("${url.pathname}")`);
  }
  const port = url.port === '' ? '2379' : url.port;
  return `${url.protocol}//${url.hostname.includes(':') && !url.hostname.startsWith('[') ? `[${url.hostname}]` : url.hostname}:${port}`;
}

function splitEndpoints(value: string | string[], where: string): string[] {
  const parts = (Array.isArray(value) ? value : value.split(','))
    .map((part) => part.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new DatastoreConfigError(`${where}: no endpoint given (empty list)`);
  return parts.map((part) => parseEndpoint(part, where));
}

/**
 * Endpoints from the explicit option (`--etcd-endpoints`, comma list), else env ETCD_ENDPOINTS, else
 * http://127.0.0.1:2379. Each endpoint is validated and normalised to `scheme://host:port`.
 */
export function resolveEndpoints(
  explicit?: string | string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  if (explicit !== undefined && (Array.isArray(explicit) ? explicit.length > 0 : explicit.trim() !== '')) {
    return splitEndpoints(explicit, '--etcd-endpoints');
  }
  const fromEnv = env.ETCD_ENDPOINTS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return splitEndpoints(fromEnv, 'ETCD_ENDPOINTS');
  return [DEFAULT_ETCD_ENDPOINT];
}

function pick(explicit: string | undefined, envValue: string | undefined): string | undefined {
  if (explicit !== undefined && explicit !== '') return explicit;
  if (envValue !== undefined && envValue !== '') return envValue;
  return undefined;
}

/**
 * Full configuration from options, falling back to ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE and
 * ETCD_KEY_FILE. Validates that certFile and keyFile come together and that TLS files are only given
 * with https endpoints.
 */
export function resolveDatastoreConfig(
  options: DatastoreOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DatastoreConfig {
  const config: DatastoreConfig = { endpoints: resolveEndpoints(options.endpoints, env) };
  const caCertFile = pick(options.caCertFile, env.ETCD_CA_CERT_FILE);
  const certFile = pick(options.certFile, env.ETCD_CERT_FILE);
  const keyFile = pick(options.keyFile, env.ETCD_KEY_FILE);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new DatastoreConfigError(
      certFile === undefined
        ? `--etcd-key-file/ETCD_KEY_FILE (${keyFile}) is set but --etcd-cert-file/ETCD_CERT_FILE is not; give both`
        : `--etcd-cert-file/ETCD_CERT_FILE (${certFile}) is set but --etcd-key-file/ETCD_KEY_FILE is not; give both`,
    );
  }
  const usesTls = caCertFile !== undefined || certFile !== undefined;
  const plain = config.endpoints.filter((endpoint) => endpoint.startsWith('http://'));
  if (usesTls && plain.length > 0) {
    throw new DatastoreConfigError(
      `TLS files are set but endpoint(s) ${plain.join(', ')} use http://; use https:// endpoints with TLS`,
    );
  }
  if (caCertFile !== undefined) config.caCertFile = caCertFile;
  if (certFile !== undefined) config.certFile = certFile;
  if (keyFile !== undefined) config.keyFile = keyFile;
  const timeout = options.requestTimeoutMs;
  if (timeout !== undefined) {
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new DatastoreConfigError(`requestTimeoutMs: ${timeout} is not a positive number of milliseconds`);
    }
    config.requestTimeoutMs = timeout;
  }
  return config;
}

/** Loaded TLS material, as etcd3/gRPC wants it. Undefined when no TLS file is configured. */
export interface TlsMaterial {
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new DatastoreConfigError(`${what} ${file} cannot be read: ${(error as Error).message}`);
  }
}

/** Reads the configured TLS files; errors name the file and the flag it came from. */
export function loadTlsMaterial(config: DatastoreConfig): TlsMaterial | undefined {
  const usesHttps = config.endpoints.some((endpoint) => endpoint.startsWith('https://'));
  if (config.caCertFile === undefined && config.certFile === undefined) return undefined;
  if (!usesHttps) return undefined;
  // With no explicit CA, trust the system roots (an empty buffer is not accepted by gRPC, so use Node's).
  const rootCertificate =
    config.caCertFile !== undefined
      ? readPem(config.caCertFile, 'CA certificate (--etcd-ca-cert-file)')
      : Buffer.from(rootCertificates.join('\n'));
  const material: TlsMaterial = { rootCertificate };
  if (config.certFile !== undefined && config.keyFile !== undefined) {
    material.certChain = readPem(config.certFile, 'client certificate (--etcd-cert-file)');
    material.privateKey = readPem(config.keyFile, 'client key (--etcd-key-file)');
  }
  return material;
}

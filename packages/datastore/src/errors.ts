// Typed datastore errors: callers branch on `instanceof` (or `.code`) instead of parsing messages.

/** A create found the key already present. */
export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
  readonly code = 'AlreadyExists' as const;
  constructor(
    readonly key: string,
    /** modRevision of the existing value. */
    readonly currentRevision: number,
  ) {
    super(`key ${key} already exists (revision ${currentRevision})`);
  }
}

/** A compare-and-swap found a different modRevision than expected (or the key gone: currentRevision 0). */
export class RevisionConflictError extends Error {
  override readonly name = 'RevisionConflictError';
  readonly code = 'RevisionConflict' as const;
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    /** modRevision now stored; 0 when the key does not exist. */
    readonly currentRevision: number,
  ) {
    super(
      currentRevision === 0
        ? `key ${key}: expected revision ${expectedRevision} but the key no longer exists`
        : `key ${key}: expected revision ${expectedRevision} but the current revision is ${currentRevision}`,
    );
  }
}

/** An operation that needs an existing key (update, CAS delete, replace of a resource) did not find it. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly code = 'NotFound' as const;
  constructor(readonly key: string) {
    super(`key ${key} does not exist`);
  }
}

/** A multi-key transaction's conditions did not hold; `failedKeys` lists the conditions that were false. */
export class TransactionConflictError extends Error {
  override readonly name = 'TransactionConflictError';
  readonly code = 'TransactionConflict' as const;
  constructor(readonly failedKeys: { key: string; condition: string; currentRevision: number }[]) {
    super(
      `transaction not applied: ${failedKeys
        .map((f) => `${f.key} (${f.condition}, current revision ${f.currentRevision})`)
        .join('; ')}`,
    );
  }
}

/** No etcd endpoint answered. The message names the endpoints and how to start or point to one. */
export class DatastoreUnavailableError extends Error {
  override readonly name = 'DatastoreUnavailableError';
  readonly code = 'DatastoreUnavailable' as const;
  constructor(
    readonly endpoints: readonly string[],
    readonly causeMessage: string,
  ) {
    super(
      `no etcd answered at ${endpoints.join(', ')} (${causeMessage}). ` +
        'Start a local one with `caracalctl datastore start`, or point to yours with ' +
        '--etcd-endpoints or the ETCD_ENDPOINTS environment variable (TLS: --etcd-ca-cert-file, ' +
        '--etcd-cert-file, --etcd-key-file).',
    );
  }
}

/** The TLS handshake failed: the client certificate was refused or the server's is not trusted. */
export class DatastoreTlsError extends Error {
  override readonly name = 'DatastoreTlsError';
  readonly code = 'DatastoreTls' as const;
  constructor(
    readonly endpoints: readonly string[],
    readonly causeMessage: string,
  ) {
    super(
      `TLS handshake with ${endpoints.join(', ')} failed (${causeMessage}). Check the CA that signed etcd's ` +
        'certificate (--etcd-ca-cert-file / ETCD_CA_CERT_FILE) and the client certificate and key etcd ' +
        'trusts (--etcd-cert-file / ETCD_CERT_FILE, --etcd-key-file / ETCD_KEY_FILE).',
    );
  }
}

/** etcd answered but refused or failed the request (permission, TLS, request too large, ...). */
export class DatastoreRequestError extends Error {
  override readonly name = 'DatastoreRequestError';
  readonly code = 'DatastoreRequest' as const;
  constructor(
    readonly operation: string,
    readonly key: string,
    readonly causeMessage: string,
  ) {
    super(`etcd ${operation} ${key} failed: ${causeMessage}`);
  }
}

/** A key or prefix argument is malformed (empty, not a string). */
export class InvalidKeyError extends Error {
  override readonly name = 'InvalidKeyError';
  readonly code = 'InvalidKey' as const;
}

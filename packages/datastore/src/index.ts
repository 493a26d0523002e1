// Public entry point of @caracal/datastore: the etcd key-value API, gap-free watches, endpoint/TLS
// configuration, key layout builders, the local etcd launcher and the throwaway test etcd.
export {
  type DatastoreConfig,
  DatastoreConfigError,
  type DatastoreOptions,
  DEFAULT_ETCD_ENDPOINT,
  loadTlsMaterial,
  resolveDatastoreConfig,
  resolveEndpoints,
  type TlsMaterial,
} from './config.js';
export {
  AlreadyExistsError,
  DatastoreRequestError,
  DatastoreTlsError,
  DatastoreUnavailableError,
  InvalidKeyError,
  NotFoundError,
  RevisionConflictError,
  TransactionConflictError,
} from './errors.js';
export { connectDatastore, EtcdKeyValueStore, prefixRange } from './etcd-kv.js';
export {
  CLUSTER_SCOPE,
  cidrToKeySegment,
  keySegmentToCidr,
  keys,
  kindToPlural,
  ROOT_PREFIX,
} from './keys.js';
export type {
  KeyValue,
  KeyValueStore,
  ListResult,
  RequestCounts,
  TxnCondition,
  TxnResult,
  TxnWrite,
  WatchEvent,
  WatchOptions,
} from './kv.js';
export {
  type DatastoreMember,
  type DatastoreStatus,
  DEFAULT_ETCD_BINARY,
  DEFAULT_ETCD_DATA_DIR,
  datastoreStatus,
  type EndpointStatus,
  type LocalEtcd,
  LocalEtcdError,
  type LocalEtcdOptions,
  type LocalEtcdTls,
  startLocalEtcd,
  stopLocalEtcd,
  stopProcess,
} from './local-etcd.js';
export {
  CorruptResourceError,
  checkEnvelope,
  decodeResource,
  InvalidResourceError,
  type Resource,
  type ResourceList,
  type ResourceMetadata,
  ResourceStore,
  type ResourceStoreOptions,
  type ResourceWatchEvent,
} from './resources.js';
export { TcpForwarder } from './tcp-forwarder.js';
export {
  etcdUnavailableReason,
  findFreePort,
  TestEtcd,
  type TestEtcdOptions,
  withTestEtcd,
} from './test-etcd.js';
export { prefixRangeEnd } from './watch.js';

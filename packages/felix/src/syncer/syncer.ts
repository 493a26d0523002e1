// Felix's datastore syncer: subscribes to the etcd prefixes Felix needs (workload endpoints, IP pools,
// FelixConfigurations, this node's block affinities) through the datastore's gap-free watches and turns
// their events into calculation-graph `InputUpdate`s. A snapshot REPLACES the stream's previous state:
// keys that vanished across a gap become deletions, so nothing stale survives a resync. In sync = every
// stream has delivered its `in-sync` since its latest snapshot. A malformed value is logged with its
// reason and treated as absent (a deletion of whatever the graph held for that key), never a crash.

import type { KeyValueStore, WatchEvent } from '@caracal/datastore';
import { keys } from '@caracal/datastore';
import type { Subscription } from 'rxjs';
import type { FelixSettingsInput, InputUpdate } from '../calc/inputs.js';
import {
  type FelixConfigurationOverrides,
  MalformedValueError,
  parseBlockAffinity,
  parseFelixConfiguration,
  parseIpPool,
  parseWorkloadEndpoint,
} from './parse.js';

/** What the syncer needs of the datastore (the real `EtcdKeyValueStore` or a test fake). */
export type WatchSource = Pick<KeyValueStore, 'watchPrefix'>;

/** Key of the single effective FelixSettings input the syncer maintains. */
export const EFFECTIVE_SETTINGS_KEY = 'effective';

export interface SyncerBatch {
  /** Graph updates in order (may be empty when only the sync status changed). */
  readonly updates: readonly InputUpdate[];
  /** True when every watched prefix is in sync after this batch. */
  readonly inSync: boolean;
  /** Which watch produced the batch and what happened, for logs. */
  readonly source: string;
}

export interface SyncerLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export interface DatastoreSyncerOptions {
  readonly nodeName: string;
  /** Settings used where no FelixConfiguration sets a field (e.g. from --refresh-interval). */
  readonly defaultSettings: FelixSettingsInput;
  readonly onBatch: (batch: SyncerBatch) => void;
  readonly logger?: SyncerLogger;
  /** Delay before re-subscribing after a watch stream errored (default 1000 ms). */
  readonly retryDelayMs?: number;
}

type StreamName = 'workloadendpoints' | 'ippools' | 'felixconfigurations' | 'affinities';

interface StreamState {
  readonly name: StreamName;
  readonly prefix: string;
  /** Raw values as last seen (also malformed ones), to compute vanished keys on a resync snapshot. */
  values: Map<string, string>;
  snapshots: number;
  synced: boolean;
  subscription: Subscription | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

const silentLogger: SyncerLogger = { warn: () => {}, info: () => {} };

export class DatastoreSyncer {
  private readonly streams: StreamState[];
  private readonly logger: SyncerLogger;
  private readonly felixConfigs = new Map<string, FelixConfigurationOverrides>();
  private stopped = false;
  /** Snapshots after the first one of each stream (gaps healed by a re-list). */
  resyncCount = 0;
  /** Values skipped as malformed since start. */
  malformedCount = 0;

  constructor(
    private readonly source: WatchSource,
    private readonly options: DatastoreSyncerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    const stream = (name: StreamName, prefix: string): StreamState => ({
      name,
      prefix,
      values: new Map(),
      snapshots: 0,
      synced: false,
      subscription: undefined,
      retryTimer: undefined,
    });
    this.streams = [
      stream('workloadendpoints', keys.resourceKindPrefix('WorkloadEndpoint')),
      stream('ippools', keys.resourceKindPrefix('IPPool')),
      stream('felixconfigurations', keys.resourceKindPrefix('FelixConfiguration')),
      stream('affinities', keys.nodeAffinitiesPrefix(options.nodeName)),
    ];
  }

  get inSync(): boolean {
    return this.streams.every((s) => s.synced);
  }

  /** The watched prefixes, for logs and status. */
  get prefixes(): string[] {
    return this.streams.map((s) => s.prefix);
  }

  start(): void {
    for (const stream of this.streams) this.subscribe(stream);
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.streams) {
      clearTimeout(stream.retryTimer);
      stream.subscription?.unsubscribe();
      stream.subscription = undefined;
    }
  }

  private subscribe(stream: StreamState): void {
    if (this.stopped) return;
    stream.subscription = this.source.watchPrefix(stream.prefix).subscribe({
      next: (event) => this.onEvent(stream, event),
      error: (error: unknown) => {
        stream.synced = false;
        stream.subscription = undefined;
        this.logger.warn(
          { prefix: stream.prefix, error: error instanceof Error ? error.message : String(error) },
          'datastore watch failed; re-subscribing (the next snapshot replaces this prefix state)',
        );
        this.emit([], `${stream.name} watch error`);
        stream.retryTimer = setTimeout(() => this.subscribe(stream), this.options.retryDelayMs ?? 1000);
      },
      complete: () => {
        stream.synced = false;
        stream.subscription = undefined;
        if (!this.stopped)
          this.logger.warn({ prefix: stream.prefix }, 'datastore watch ended (datastore closed)');
      },
    });
  }

  private onEvent(stream: StreamState, event: WatchEvent): void {
    if (this.stopped) return;
    switch (event.type) {
      case 'snapshot': {
        stream.snapshots++;
        if (stream.snapshots > 1 || event.resync) {
          this.resyncCount++;
          this.logger.info({ prefix: stream.prefix, revision: event.revision }, 'datastore resync snapshot');
        }
        stream.synced = false;
        const previous = stream.values;
        stream.values = new Map(event.items.map((item) => [item.key, item.value]));
        const updates: InputUpdate[] = [];
        for (const key of previous.keys()) {
          if (!stream.values.has(key)) updates.push(...this.translate(stream, key, undefined));
        }
        for (const [key, value] of stream.values) updates.push(...this.translate(stream, key, value));
        if (stream.name === 'felixconfigurations') updates.push(this.effectiveSettings());
        this.emit(updates, `${stream.name} snapshot at revision ${event.revision}`);
        return;
      }
      case 'in-sync':
        stream.synced = true;
        this.emit([], `${stream.name} in sync at revision ${event.revision}`);
        return;
      case 'put':
        stream.values.set(event.key, event.value);
        this.emit(
          this.withSettings(stream, this.translate(stream, event.key, event.value)),
          `${stream.name} put`,
        );
        return;
      case 'delete':
        stream.values.delete(event.key);
        this.emit(
          this.withSettings(stream, this.translate(stream, event.key, undefined)),
          `${stream.name} delete`,
        );
        return;
    }
  }

  private withSettings(stream: StreamState, updates: InputUpdate[]): InputUpdate[] {
    return stream.name === 'felixconfigurations' ? [...updates, this.effectiveSettings()] : updates;
  }

  /** One key's value (undefined = gone) → graph updates; malformed values are logged and become deletions. */
  private translate(stream: StreamState, key: string, value: string | undefined): InputUpdate[] {
    try {
      switch (stream.name) {
        case 'workloadendpoints':
          return [
            {
              kind: 'WorkloadEndpoint',
              key,
              value: value === undefined ? undefined : parseWorkloadEndpoint(key, value),
            },
          ];
        case 'ippools':
          return [{ kind: 'IPPool', key, value: value === undefined ? undefined : parseIpPool(key, value) }];
        case 'affinities':
          return [
            {
              kind: 'BlockAffinity',
              key,
              value: value === undefined ? undefined : parseBlockAffinity(key, value),
            },
          ];
        case 'felixconfigurations':
          if (value === undefined) this.felixConfigs.delete(key);
          else this.felixConfigs.set(key, parseFelixConfiguration(key, value));
          return [];
      }
    } catch (error) {
      if (!(error instanceof MalformedValueError)) throw error;
      this.malformedCount++;
      this.logger.warn({ key, reason: error.message }, 'skipping malformed datastore value');
      if (stream.name === 'felixconfigurations') {
        this.felixConfigs.delete(key);
        return [];
      }
      const kind =
        stream.name === 'workloadendpoints'
          ? 'WorkloadEndpoint'
          : stream.name === 'ippools'
            ? 'IPPool'
            : 'BlockAffinity';
      return [{ kind, key, value: undefined }];
    }
  }

  /** Defaults ← FelixConfiguration "default" ← FelixConfiguration "node.<this node>" (Calico's precedence). */
  private effectiveSettings(): InputUpdate {
    const global = this.felixConfigs.get(keys.resource('FelixConfiguration', 'default')) ?? {};
    const perNode =
      this.felixConfigs.get(keys.resource('FelixConfiguration', `node.${this.options.nodeName}`)) ?? {};
    return {
      kind: 'FelixSettings',
      key: EFFECTIVE_SETTINGS_KEY,
      value: { ...this.options.defaultSettings, ...global, ...perNode },
    };
  }

  private emit(updates: InputUpdate[], source: string): void {
    this.options.onBatch({ updates, inSync: this.inSync, source });
  }
}

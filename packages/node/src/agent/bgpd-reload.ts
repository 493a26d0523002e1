// Makes sure caracal-bgpd runs the newest bgpd.yaml. The agent tells the keeper the digest of every file it
// writes (configDigest of @caracal/bgp-speaker, over the parsed file) and hands it every status answer of
// bgpd's control socket; the keeper sends SIGHUP once a running bgpd has answered (its handler is
// installed), then checks that bgpd's status().configDigest equals the file's. bgpd refuses a reload as a
// whole when it cannot bind a listen address (an address not on an interface yet, an IPv6 address still
// tentative during duplicate address detection): then the keeper resends SIGHUP with a doubling backoff
// (1 s → 30 s) until bgpd reports the file applied, logs bgpd's error once per distinct error, and reports
// the refusal (for /readiness, status.json and metrics). A newer file resets the backoff and is what the
// next SIGHUP makes bgpd read; a freshly started bgpd (it reads the file at start) ends the retries.
// Timers are injectable, so the backoff is tested without waiting.
import type { Logger } from 'pino';

/** The part of caracal-bgpd's status the keeper reads (SpeakerStatus's configDigest and lastReload). */
export interface BgpdReloadStatus {
  readonly configDigest?: string;
  readonly lastReload?: {
    readonly ok: boolean;
    readonly at: string;
    readonly configDigest: string;
    readonly error?: string;
  } | null;
}

export interface ReloadTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds since the epoch. */
  now(): number;
}

const systemTimers: ReloadTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface BgpdReloadKeeperOptions {
  /** Sends SIGHUP to the running caracal-bgpd; false when none runs (or the signal failed). */
  readonly sighup: () => boolean;
  /** Asks the running caracal-bgpd for its status (the control socket); rejects when it does not answer. */
  readonly queryStatus: () => Promise<BgpdReloadStatus>;
  readonly logger: Logger;
  readonly timers?: ReloadTimers;
  /** The first wait after a SIGHUP before checking (and resending). Default 1000 ms. */
  readonly firstRetryMs?: number;
  /** The longest wait between two SIGHUPs for the same file. Default 30 000 ms. */
  readonly maxRetryMs?: number;
  /** Every SIGHUP sent: 'change' for a new file, 'retry' for a resend of a file bgpd has not applied. */
  readonly onSighup?: (why: 'change' | 'retry') => void;
  /** Every refused reload bgpd reports (each reload once, told apart by its `at`). */
  readonly onRefused?: (error: string) => void;
  /** Whenever applied/refusal changes (status.json follows). */
  readonly onChange?: () => void;
}

/** Why the newest bgpd.yaml is not running, while it is not. */
export interface BgpdReloadRefusal {
  /** bgpd's error for the newest file's last reload, e.g. "cannot listen on fd00::5 port 179: …". */
  readonly error: string;
  /** ISO time bgpd first refused this file with this error. */
  readonly since: string;
}

export class BgpdReloadKeeper {
  readonly #options: BgpdReloadKeeperOptions;
  readonly #timers: ReloadTimers;
  readonly #firstRetryMs: number;
  readonly #maxRetryMs: number;
  /** configDigest of the newest bgpd.yaml (undefined: none known, nothing to enforce). */
  #wanted: string | undefined;
  /** A SIGHUP is due for #wanted as soon as the running bgpd answers. */
  #sighupDue = false;
  /** The running bgpd has answered on its control socket (its SIGHUP handler is installed). */
  #answered = false;
  /** The check (and resend) scheduled after the last SIGHUP. */
  #retryTimer: unknown;
  #retryDelayMs: number;
  #refusal: BgpdReloadRefusal | undefined;
  /** The last error logged: each distinct error is logged once. */
  #loggedError: string | undefined;
  /** `at` of the last refused reload counted (each refused reload counted once). */
  #countedRefusalAt: string | undefined;
  /** What the last status said: bgpd runs #wanted (undefined: not known yet). */
  #applied: boolean | undefined;
  #stopped = false;
  /** Counts bgpd processes (bgpdRunning): a check whose answer came from an earlier one is dropped. */
  #bgpdRuns = 0;
  /** SIGHUPs resent for a file bgpd had not applied, since the agent started. */
  retries = 0;

  constructor(options: BgpdReloadKeeperOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#firstRetryMs = options.firstRetryMs ?? 1000;
    this.#maxRetryMs = options.maxRetryMs ?? 30_000;
    this.#retryDelayMs = this.#firstRetryMs;
  }

  /** The digest of the newest bgpd.yaml. */
  get wanted(): string | undefined {
    return this.#wanted;
  }

  /** Why bgpd does not run the newest file (its last reload of it was refused), or undefined. */
  get refusal(): BgpdReloadRefusal | undefined {
    return this.#refusal;
  }

  /**
   * Whether bgpd runs the newest bgpd.yaml: true/false from its last status answer; false while a SIGHUP
   * for it is due or unconfirmed; true when no file is known.
   */
  get applied(): boolean {
    if (this.#wanted === undefined) return true;
    return this.#applied === true && !this.#sighupDue;
  }

  /**
   * The file bgpd should run: at start, what is on disk (`changed` false: an adopted bgpd that runs
   * something else gets a SIGHUP after its first answer); after a write, the new file (SIGHUP now when
   * bgpd has answered, else once it does; the backoff starts over).
   */
  want(digest: string | undefined, changed: boolean): void {
    if (this.#stopped || digest === this.#wanted) return;
    this.#wanted = digest;
    this.#applied = undefined;
    // A refusal named the previous file; the new one is judged on its own (an unchanged error is not
    // logged again).
    this.#setRefusal(undefined);
    if (!changed) return;
    this.#sighupDue = true;
    this.#retryDelayMs = this.#firstRetryMs;
    this.#cancelRetry();
    this.#sendIfDue();
  }

  /**
   * A new bgpd process runs. 'started': it reads the file at start, so retries end (its first answer says
   * whether it runs the newest file). 'adopted': it ran before the agent; its first answer decides.
   */
  bgpdRunning(how: 'started' | 'adopted'): void {
    this.#bgpdRuns++;
    this.#answered = false;
    this.#cancelRetry();
    this.#retryDelayMs = this.#firstRetryMs;
    this.#applied = undefined;
    if (how === 'started') {
      this.#sighupDue = false;
      this.#setRefusal(undefined);
    }
  }

  /** A status answer of the running bgpd (the agent's poll): SIGHUP when due, note applied or refused. */
  observe(status: BgpdReloadStatus): void {
    if (this.#stopped) return;
    this.#answered = true;
    this.#judge(status);
    if (this.#sighupDue) this.#sendIfDue();
    // bgpd runs something else and no SIGHUP is out for it (a fresh bgpd that read an older file, an
    // adopted one left on an older file): reload it.
    else if (this.#applied === false && this.#retryTimer === undefined) this.#send('retry');
  }

  /** The running bgpd stopped answering (or is gone): nothing is sent until it answers again. */
  unanswered(): void {
    this.#answered = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelRetry();
  }

  /** Records what a status says of the newest file. */
  #judge(status: BgpdReloadStatus): void {
    if (this.#wanted === undefined) return;
    if (status.configDigest === undefined) {
      // A bgpd that does not report its configuration: trust the SIGHUP (the behaviour before digests).
      this.#applied = !this.#sighupDue;
      return;
    }
    const applied = status.configDigest === this.#wanted;
    const changed = applied !== this.#applied;
    this.#applied = applied;
    if (applied) {
      this.#cancelRetry();
      this.#retryDelayMs = this.#firstRetryMs;
      if (this.#refusal !== undefined)
        this.#options.logger.info(
          { configDigest: this.#wanted, retries: this.retries },
          'caracal-bgpd applied bgpd.yaml after refusing it',
        );
      this.#setRefusal(undefined);
      this.#loggedError = undefined;
      if (changed) this.#options.onChange?.();
      return;
    }
    const last = status.lastReload;
    if (last?.ok !== false || last.configDigest !== this.#wanted) {
      if (changed) this.#options.onChange?.();
      return;
    }
    const error = last.error ?? 'refused (no reason given)';
    if (last.at !== this.#countedRefusalAt) {
      this.#countedRefusalAt = last.at;
      this.#options.onRefused?.(error);
    }
    if (error !== this.#loggedError) {
      this.#loggedError = error;
      this.#options.logger.warn(
        { error, configDigest: this.#wanted, retryInMs: this.#retryDelayMs },
        'caracal-bgpd refused to reload bgpd.yaml; resending SIGHUP with backoff until it applies it',
      );
    }
    if (this.#refusal?.error !== error) this.#setRefusal({ error, since: last.at });
    else if (changed) this.#options.onChange?.();
  }

  #setRefusal(refusal: BgpdReloadRefusal | undefined): void {
    const changed = refusal?.error !== this.#refusal?.error;
    this.#refusal = refusal;
    if (changed) this.#options.onChange?.();
  }

  #sendIfDue(): void {
    if (this.#sighupDue && this.#answered) this.#send('change');
  }

  /** SIGHUP, then a check after the current backoff (which then doubles). */
  #send(why: 'change' | 'retry'): void {
    if (!this.#options.sighup()) return; // no bgpd: its start (or next answer) takes over
    this.#sighupDue = false;
    this.#applied = false;
    if (why === 'retry') this.retries++;
    this.#options.onSighup?.(why);
    this.#scheduleCheck();
  }

  #scheduleCheck(): void {
    this.#cancelRetry();
    const delay = this.#retryDelayMs;
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#maxRetryMs);
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#check();
    }, delay);
  }

  /** After the backoff: applied → done; otherwise SIGHUP again (the newest file) and wait longer. */
  async #check(): Promise<void> {
    if (this.#stopped) return;
    const run = this.#bgpdRuns;
    let status: BgpdReloadStatus;
    try {
      status = await this.#options.queryStatus();
    } catch {
      // bgpd does not answer (restarting?): look again later without signalling a process that may be new.
      if (!this.#stopped && this.#retryTimer === undefined) this.#scheduleCheck();
      return;
    }
    // A newer SIGHUP took over meanwhile, or the answer came from a bgpd that has been replaced since (the
    // new one may not have its SIGHUP handler yet: its own first answer decides).
    if (this.#stopped || this.#retryTimer !== undefined || run !== this.#bgpdRuns) return;
    this.#answered = true;
    this.#judge(status);
    if (this.#applied === true || this.#wanted === undefined) return;
    this.#send('retry');
  }

  #cancelRetry(): void {
    if (this.#retryTimer !== undefined) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}

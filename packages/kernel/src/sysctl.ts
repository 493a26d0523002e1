// Sysctls under /proc/sys/net, behind a narrow interface (the real one writes procfs of the current
// network namespace; the fake is a map) so Felix's interface settings are unit-testable.

import { readFile, writeFile } from 'node:fs/promises';

export interface Sysctls {
  /** `path` is relative to /proc/sys/net, e.g. `ipv4/conf/cara0/proxy_arp`. Undefined if absent. */
  read(path: string): Promise<string | undefined>;
  write(path: string, value: string): Promise<void>;
}

export class ProcSysctls implements Sysctls {
  constructor(private readonly root = '/proc/sys/net') {}

  async read(path: string): Promise<string | undefined> {
    try {
      return (await readFile(`${this.root}/${path}`, 'utf8')).trim();
    } catch {
      return undefined;
    }
  }

  async write(path: string, value: string): Promise<void> {
    try {
      await writeFile(`${this.root}/${path}`, value);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot set net.${path.replaceAll('/', '.')} = ${value}: ${reason}`);
    }
  }
}

export class FakeSysctls implements Sysctls {
  readonly values = new Map<string, string>();
  readonly writes: string[] = [];

  async read(path: string): Promise<string | undefined> {
    return this.values.get(path);
  }

  async write(path: string, value: string): Promise<void> {
    this.writes.push(`${path}=${value}`);
    this.values.set(path, value);
  }
}

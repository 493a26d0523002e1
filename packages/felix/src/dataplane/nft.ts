// nftables through its JSON API (`nft -j -f -`), behind a narrow interface with an in-memory fake.
// Batches go through `nft -j -f FILE` (see run()). Felix owns exactly one table (`inet caracal`); it rewrites that table atomically and never touches others.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nft {
  /** Runs one atomic batch of JSON commands (`{"add": {...}}`, `{"delete": {...}}`, ...). */
  run(commands: readonly object[]): Promise<void>;
  /** The JSON listing of one table, or undefined when the table does not exist. */
  listTable(family: string, name: string): Promise<object[] | undefined>;
}

export class NftCli implements Nft {
  constructor(private readonly binary = 'nft') {}

  async run(commands: readonly object[]): Promise<void> {
    // `nft -f -` opens /dev/stdin, which fails (ENXIO) when stdin is the socket pair Node gives a child;
    // a private temporary file carries the same JSON batch, still applied as one transaction.
    const dir = await mkdtemp(join(tmpdir(), 'caracal-nft-'));
    const file = join(dir, 'batch.json');
    try {
      await writeFile(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
      const { code, stderr } = await this.exec(['-j', '-f', file], '');
      if (code !== 0) throw new Error(`nft -j -f failed (exit ${code}): ${stderr.trim()}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async listTable(family: string, name: string): Promise<object[] | undefined> {
    const { code, stdout, stderr } = await this.exec(['-j', 'list', 'table', family, name], '');
    if (code !== 0) {
      if (/No such file or directory|does not exist/i.test(stderr)) return undefined;
      throw new Error(`nft list table ${family} ${name} failed (exit ${code}): ${stderr.trim()}`);
    }
    return (JSON.parse(stdout) as { nftables: object[] }).nftables;
  }

  private exec(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      // stdin is only a pipe when there is input: nft may exit without reading it, and writing to a closed
      // pipe raises EPIPE (an unhandled 'error' event would end the whole process).
      const child = spawn(this.binary, args, { stdio: [input === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', (error) => reject(new Error(`cannot run ${this.binary}: ${error.message}`)));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (child.stdin) {
        child.stdin.on('error', () => {
          // nft exited before reading its input: its exit code and stderr say why.
        });
        child.stdin.end(input);
      }
    });
  }
}

/** Keeps the last table written per family/name; `flushByHand` simulates an operator's `nft delete table`. */
export class FakeNft implements Nft {
  readonly tables = new Map<string, object[]>();
  readonly batches: (readonly object[])[] = [];

  async run(commands: readonly object[]): Promise<void> {
    this.batches.push(commands);
    for (const command of commands) {
      const [verb, body] = Object.entries(command)[0] as [
        string,
        Record<string, { family: string; name?: string; table?: string }>,
      ];
      const [objectKind, object] = Object.entries(body)[0]!;
      const tableKey = `${object.family} ${objectKind === 'table' ? object.name : object.table}`;
      if (objectKind === 'table' && verb === 'delete') this.tables.delete(tableKey);
      else if (objectKind === 'table' && verb === 'add') {
        if (!this.tables.has(tableKey)) this.tables.set(tableKey, []);
      } else if (verb === 'add' && objectKind === 'element') {
        // As `nft -j list` shows them: elements inline in their set.
        const set = this.tables
          .get(tableKey)
          ?.find((o) => (o as { set?: { name: string } }).set?.name === object.name) as
          | { set: { elem?: unknown[] } }
          | undefined;
        if (set) set.set.elem = [...(set.set.elem ?? []), ...((object as { elem?: unknown[] }).elem ?? [])];
      } else if (verb === 'add') this.tables.get(tableKey)?.push({ [objectKind]: { ...object } });
    }
  }

  async listTable(family: string, name: string): Promise<object[] | undefined> {
    return this.tables.get(`${family} ${name}`);
  }

  flushByHand(family: string, name: string): void {
    this.tables.delete(`${family} ${name}`);
  }
}

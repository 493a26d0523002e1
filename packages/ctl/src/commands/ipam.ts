// `caracalctl ipam show|check|release`: renders IPAM usage per pool (and per block), the leak report
// of a consistency check (optionally saved as JSON for a later release), and release results.

import { readFile, writeFile } from 'node:fs/promises';
import type { IpamOperations, ReleaseResult } from '../admin.js';
import type { ConnectionSettings } from '../connection.js';
import { CommandFailure, errorMessage, UsageError } from '../errors.js';
import { renderTable } from '../format/table.js';

/** Share of a total as a percentage with one decimal; totals are decimal text (IPv6 pools are huge). */
function percent(part: string | number, total: string | number): string {
  const whole = Number(total);
  if (whole === 0) return '0%';
  const share = (Number(part) / whole) * 100;
  return `${share === 0 || share === 100 ? share.toFixed(0) : share.toFixed(1)}%`;
}

export async function runIpamShow(
  ipam: IpamOperations,
  settings: ConnectionSettings,
  showBlocks: boolean,
): Promise<string> {
  const usage = await ipam.usage(settings);
  const rows: string[][] = usage.pools.map((pool) => [
    'IP Pool',
    pool.cidr,
    pool.total,
    `${pool.inUse} (${percent(pool.inUse, pool.total)})`,
    `${pool.free} (${percent(pool.free, pool.total)})`,
  ]);
  if (showBlocks) {
    for (const block of usage.blocks) {
      const total = block.inUse + block.free;
      rows.push([
        'Block',
        block.node === undefined ? block.cidr : `${block.cidr} (${block.node})`,
        String(total),
        `${block.inUse} (${percent(block.inUse, total)})`,
        `${block.free} (${percent(block.free, total)})`,
      ]);
    }
  }
  if (rows.length === 0) return 'No IP pools configured (create one with caracalctl apply -f pool.yaml).\n';
  return renderTable({ headers: ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'], rows });
}

export async function runIpamCheck(
  ipam: IpamOperations,
  settings: ConnectionSettings,
  reportFile: string | undefined,
): Promise<{ text: string; leakCount: number }> {
  const result = await ipam.check(settings);
  const lines = [...result.summary];
  if (reportFile !== undefined) {
    try {
      await writeFile(reportFile, `${JSON.stringify(result.report, null, 2)}\n`);
    } catch (error) {
      throw new CommandFailure(`cannot write the report to ${reportFile}: ${errorMessage(error)}`);
    }
    lines.push(
      `Report written to ${reportFile}${result.leakCount > 0 ? ` (release with: caracalctl ipam release --from-report ${reportFile})` : ''}`,
    );
  }
  return { text: `${lines.join('\n')}\n`, leakCount: result.leakCount };
}

function renderReleases(results: readonly ReleaseResult[]): { text: string; failures: number } {
  const lines = results.map((result) =>
    result.released
      ? `${result.ip} released`
      : `${result.ip} not released: ${result.reason ?? 'unknown reason'}`,
  );
  return { text: `${lines.join('\n')}\n`, failures: results.filter((result) => !result.released).length };
}

export async function runIpamRelease(
  ipam: IpamOperations,
  settings: ConnectionSettings,
  ips: readonly string[],
  reportFile: string | undefined,
): Promise<string> {
  let results: ReleaseResult[];
  if (reportFile !== undefined) {
    let report: unknown;
    try {
      report = JSON.parse(await readFile(reportFile, 'utf8'));
    } catch (error) {
      throw new CommandFailure(`cannot read the report ${reportFile}: ${errorMessage(error)}`);
    }
    results = await ipam.releaseFromReport(settings, report);
    if (results.length === 0)
      return `The report ${reportFile} lists no leaked addresses; nothing released.\n`;
  } else {
    for (const ip of ips) {
      if (!/^[0-9a-fA-F:.]+$/.test(ip)) throw new UsageError(`--ip: "${ip}" is not an IP address`);
    }
    results = await ipam.releaseIps(settings, ips);
  }
  const rendered = renderReleases(results);
  if (rendered.failures > 0) {
    throw new CommandFailure(
      `${rendered.text.trimEnd()}\n${rendered.failures} of ${results.length} address(es) not released`,
    );
  }
  return rendered.text;
}

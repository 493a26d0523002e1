// Whether this kernel can do IPIP: the ipip module is built in or loadable (then every network namespace
// has a `tunl0`). Checked without side effects on the host: /sys/module/ipip, or tunl0 already present.

import { access } from 'node:fs/promises';

export interface IpipSupport {
  readonly available: boolean;
  readonly reason: string;
}

export async function detectIpipSupport(sysRoot = '/sys'): Promise<IpipSupport> {
  for (const path of [`${sysRoot}/module/ipip`, `${sysRoot}/class/net/tunl0`]) {
    try {
      await access(path);
      return { available: true, reason: `${path} exists` };
    } catch {
      // try the next sign
    }
  }
  return {
    available: false,
    reason: `neither ${sysRoot}/module/ipip nor ${sysRoot}/class/net/tunl0 exists: the kernel has no ipip module`,
  };
}

// Shared by the CNI lab tests: runs bin/caracal or bin/caracal-ipam as a CNI runtime does, inside the
// node's network namespace (`ip netns exec <node> bin/<plugin>`), with CNI_* in the environment, CNI_PATH
// = the repository's bin/ and the configuration on stdin; asynchronous, so the test's own etcd connection
// keeps answering keepalives while the plugin runs.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const binDir = join(resolve(import.meta.dirname, '../../..'), 'bin');

export interface Invocation {
  command: string;
  containerId?: string;
  netns?: string;
  pod?: string;
  stdin: string;
}

export interface PluginRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runPluginInNamespace(nodeNs: string, binary: string, call: Invocation): Promise<PluginRun> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    CNI_COMMAND: call.command,
    CNI_PATH: binDir,
    CNI_IFNAME: 'eth0',
    ...(call.containerId ? { CNI_CONTAINERID: call.containerId } : {}),
    ...(call.netns ? { CNI_NETNS: call.netns } : {}),
    ...(call.pod ? { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${call.pod}` } : {}),
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ip', ['netns', 'exec', nodeNs, join(binDir, binary)], { env, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
    child.stdin.end(call.stdin);
  });
}

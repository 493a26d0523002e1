// Unit tests of the caracal-felix flags: defaults, environment fallbacks, and errors naming the flag.
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { felixCommand, toDaemonOptions } from '../../src/daemon/options.js';

const parse = (argv: string[]) => {
  const command = felixCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  command.parse(argv, { from: 'user' });
  return command.opts();
};

describe('caracal-felix options', () => {
  it('defaults', () => {
    expect(toDaemonOptions(parse(['--node-name', 'n1', '--etcd-endpoints', 'http://10.0.0.1:2379']))).toEqual(
      {
        nodeName: 'n1',
        etcdEndpoints: ['http://10.0.0.1:2379'],
        healthPort: 9099,
        healthHost: '127.0.0.1',
        metricsPort: 9091,
        metricsHost: '0.0.0.0',
        refreshIntervalSeconds: 90,
        runDir: '/run/caracal',
        logLevel: 'info',
      },
    );
  });

  it('flags override defaults; health port 0 disables', () => {
    const options = toDaemonOptions(
      parse([
        '--node-name',
        'n1',
        '--health-port',
        '0',
        '--metrics-port',
        '9300',
        '--refresh-interval',
        '2.5',
        '--run-dir',
        '/tmp/x',
      ]),
    );
    expect(options).toMatchObject({
      healthPort: 0,
      metricsPort: 9300,
      refreshIntervalSeconds: 2.5,
      runDir: '/tmp/x',
    });
  });

  it('errors name the flag', () => {
    expect(() => parse(['--bogus'])).toThrow(CommanderError);
    expect(() => parse(['--bogus'])).toThrow("unknown option '--bogus'");
    expect(() => parse(['--refresh-interval', '0'])).toThrow(
      '--refresh-interval must be a positive number of seconds, got "0"',
    );
    expect(() => parse(['--metrics-port', '-1'])).toThrow('--metrics-port must be a port 0-65535, got "-1"');
    expect(() => toDaemonOptions(parse(['--node-name', 'a/b']))).toThrow(
      '--node-name "a/b" must be non-empty without "/" or spaces',
    );
    expect(() => toDaemonOptions(parse(['--node-name', 'n', '--etcd-endpoints', 'ftp://x:1']))).toThrow(
      /ftp/,
    );
  });
});

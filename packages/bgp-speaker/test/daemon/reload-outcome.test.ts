// The outcome of the last reload in the speaker's status (and on the real control socket, as
// `caracal-bgp status -o json` and caracal-node read it): configDigest names the configuration that runs
// (the start file, then each applied reload), lastReload says ok/refused, when, for which configuration and
// why; a refused reload (a listen address not on this host) leaves configDigest on the running one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryStatus, startControlServer } from '../../src/control/index.js';
import { configDigest } from '../../src/daemon/index.js';
import { config, node, rawPeersStoppedAfterEach, speakerYaml, startSpeaker } from './harness.js';

rawPeersStoppedAfterEach();

describe('Speaker status: configDigest and lastReload', () => {
  it('configDigest is the same for the same content, differs for another', () => {
    const yaml = 'asNumber: 65001\nrouterId: 10.0.0.1\nlisten: { address: 10.0.0.1, port: 179 }';
    expect(configDigest(config(yaml))).toBe(configDigest(config(`# a comment\n${yaml}\n`)));
    expect(configDigest(config(yaml))).toMatch(/^[0-9a-f]{64}$/);
    expect(configDigest(config(yaml))).not.toBe(configDigest(config(yaml.replace('65001', '65002'))));
  });

  it('records an applied reload, a refused one (with the error) and the running digest', async () => {
    const s = await node('s', 65001);
    const base = speakerYaml(s, []);
    const started = await startSpeaker(s, base);
    const speaker = started.speaker;
    expect(speaker.status()).toMatchObject({ configDigest: configDigest(config(base)), lastReload: null });

    const withOrigination = `${base}\noriginate:\n  - { prefix: 10.77.0.0/24 }`;
    await speaker.reload(config(withOrigination));
    const applied = speaker.status();
    expect(applied.configDigest).toBe(configDigest(config(withOrigination)));
    expect(applied.lastReload).toEqual({
      ok: true,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      configDigest: configDigest(config(withOrigination)),
    });

    // 192.0.2.1 (TEST-NET-1) is on no interface of this host: the bind fails, the reload is refused.
    const unbindable = `${withOrigination.replace(/^listen: .*$/m, `listen: { addresses: [${s.address}, 192.0.2.1], port: ${s.port} }`)}\n  - { prefix: 10.78.0.0/24 }`;
    await expect(speaker.reload(config(unbindable))).rejects.toThrow(/192\.0\.2\.1/);
    const refused = speaker.status();
    expect(refused.configDigest).toBe(configDigest(config(withOrigination)));
    expect(refused.lastReload).toMatchObject({ ok: false, configDigest: configDigest(config(unbindable)) });
    expect(refused.lastReload?.error).toMatch(
      new RegExp(`^cannot listen on 192\\.0\\.2\\.1 port ${s.port}: .*EADDRNOTAVAIL`),
    );
    expect(speaker.routes().map((route) => route.prefix)).toEqual(['10.77.0.0/24']);

    // What the control socket answers (JSON over the unix socket) carries both fields unchanged.
    const directory = mkdtempSync(join(tmpdir(), 'caracal-reload-outcome-'));
    const server = await startControlServer({ socketPath: join(directory, 'bgpd.sock'), view: speaker });
    try {
      const answer = await queryStatus(join(directory, 'bgpd.sock'), { timeoutMs: 2000 });
      expect(answer.configDigest).toBe(refused.configDigest);
      expect(answer.lastReload).toEqual(refused.lastReload);
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }

    // The same file again once fixed (only bindable addresses): applied, the digest follows.
    const fixed = unbindable.replace(', 192.0.2.1', '');
    await speaker.reload(config(fixed));
    expect(speaker.status().configDigest).toBe(configDigest(config(fixed)));
    expect(speaker.status().lastReload).toMatchObject({
      ok: true,
      configDigest: configDigest(config(fixed)),
    });
    expect(
      speaker
        .routes()
        .map((route) => route.prefix)
        .sort(),
    ).toEqual(['10.77.0.0/24', '10.78.0.0/24']);
  });
});

// Unit tests of lab naming: run ids, namespace and root-link patterns, the 15-character limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  interfaceNameProblem,
  LAB_NAMESPACE_PATTERN,
  MAX_INTERFACE_NAME_LENGTH,
  namespaceName,
  newRunId,
  podHostInterfaceName,
  RUN_ID_PATTERN,
  rootLinkName,
  runIdOfNamespace,
  runIdOfRootLink,
} from '../src/naming.js';
import { NameAllocator } from '../src/plan.js';

describe('naming', () => {
  it('makes run ids of crl + 4 base36 characters, different each time', () => {
    const ids = new Set(Array.from({ length: 200 }, newRunId));
    for (const id of ids) expect(id).toMatch(RUN_ID_PATTERN);
    expect(ids.size).toBeGreaterThan(150);
  });

  it('recognises its own namespaces and root links, and nothing else', () => {
    const runId = 'crl0a9z';
    expect(runIdOfNamespace(namespaceName(runId, 'h1'))).toBe(runId);
    expect(runIdOfNamespace(namespaceName(runId, 'fabric'))).toBe(runId);
    expect(runIdOfRootLink(rootLinkName(runId, 'r', 12))).toBe(runId);
    for (const foreign of [
      'crl0a9-h1',
      'crlABCD-h1',
      'xcrl0a9z-h1',
      'crl0a9zz-h1',
      'crl0a9z',
      'cni-1234',
      'crl0a9z_h1',
    ]) {
      expect(runIdOfNamespace(foreign), foreign).toBeUndefined();
    }
    for (const foreign of ['crl0a9z', 'crl0a9zr', 'eth0', 'crl0a9-r1', 'crl0a9zr1x']) {
      expect(runIdOfRootLink(foreign), foreign).toBeUndefined();
    }
  });

  it('keeps every generated interface name within 15 characters', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (podName) => {
        const name = podHostInterfaceName(podName);
        expect(name).toHaveLength(MAX_INTERFACE_NAME_LENGTH);
        expect(interfaceNameProblem(name)).toBeUndefined();
      }),
    );
    const names = new NameAllocator(newRunId());
    for (let i = 0; i < 2000; i++) {
      expect(names.fabricPort().length).toBeLessThanOrEqual(MAX_INTERFACE_NAME_LENGTH);
      expect(names.rootLink().length).toBeLessThanOrEqual(MAX_INTERFACE_NAME_LENGTH);
    }
  });

  it('explains why an interface name is unusable', () => {
    expect(interfaceNameProblem('sixteen-chars-xx')).toBe(
      'is 16 characters long; interface names are limited to 15',
    );
    expect(interfaceNameProblem('fifteen-chars-x')).toBeUndefined();
    expect(interfaceNameProblem('eth 0')).toMatch(/may only contain/);
    expect(interfaceNameProblem('lo')).toMatch(/loopback/);
    expect(interfaceNameProblem('')).toBe('must not be empty');
  });

  it('namespace names match the lab namespace pattern', () => {
    expect(namespaceName('crlabcd', 'h1')).toMatch(LAB_NAMESPACE_PATTERN);
  });
});

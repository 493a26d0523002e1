// Registration of this node's Node resource: create it, or update spec.bgp.ipv4Address (spec.bgp.ipv6Address
// and asNumber when given) keeping labels and every other field, with a compare-and-swap on resourceVersion retried on
// conflict. The result is validated with @caracal/model before it is written; an unchanged Node is not
// rewritten.
import { AlreadyExistsError, type ResourceStore, RevisionConflictError } from '@caracal/datastore';
import { API_VERSION, type NodeResource, validateOrThrow } from '@caracal/model';

export interface Registration {
  readonly nodeName: string;
  readonly ipv4Address: string;
  /** `address/length` to write to `spec.bgp.ipv6Address`; undefined keeps what the Node has (IP6=none). */
  readonly ipv6Address?: string | undefined;
  readonly asNumber: number | undefined;
}

/** The Node as it should be after registration (pure). */
export function desiredNode(existing: NodeResource | undefined, reg: Registration): NodeResource {
  const base: NodeResource = existing ?? {
    apiVersion: API_VERSION,
    kind: 'Node',
    metadata: { name: reg.nodeName },
    spec: {},
  };
  const bgp = { ...(base.spec.bgp ?? {}), ipv4Address: reg.ipv4Address };
  if (reg.ipv6Address !== undefined) bgp.ipv6Address = reg.ipv6Address;
  if (reg.asNumber !== undefined) bgp.asNumber = reg.asNumber;
  const next = { ...base, spec: { ...base.spec, bgp } };
  const { resourceVersion, uid, creationTimestamp, ...metadata } = next.metadata;
  const validated = validateOrThrow({ ...next, metadata }) as NodeResource;
  return {
    ...validated,
    metadata: {
      ...validated.metadata,
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
    },
  };
}

export async function registerNode(
  resources: ResourceStore,
  reg: Registration,
  maxAttempts = 20,
): Promise<NodeResource> {
  let lastError: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const existing = await resources.get<NodeResource>('Node', reg.nodeName);
    const next = desiredNode(existing, reg);
    // A restarted agent with the same address writes nothing (no watch event for every other node).
    if (existing !== undefined && JSON.stringify(next.spec) === JSON.stringify(existing.spec))
      return existing;
    try {
      return existing === undefined ? await resources.create(next) : await resources.update(next);
    } catch (error) {
      if (!(error instanceof RevisionConflictError || error instanceof AlreadyExistsError)) throw error;
      lastError = error;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 50 * (attempt + 1)));
    }
  }
  throw new Error(
    `registering Node ${reg.nodeName}: ${maxAttempts} conflicting updates (${String(lastError)})`,
  );
}

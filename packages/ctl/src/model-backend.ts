// caracalctl's view of the resource model: the CLI's envelope checks (manifest-reader.ts: apiVersion,
// known kind, metadata.name/namespace/labels, spec a mapping; each document with file, index and line),
// then @caracal/model's `validateResource` — kind-specific validation with field path, value and reason,
// and the defaulted stored form (caracal.io/v1; Calico v3 manifests are accepted unchanged).

import { validateResource } from '@caracal/model';
import type { ResourceModel } from './backend.js';
import type { PlainResource } from './format/resource-table.js';
import { checkEnvelope, type KindValidator, readManifests } from './manifest-reader.js';

const validateKind: KindValidator = (resource: PlainResource) => {
  const result = validateResource(resource);
  return result.resource === undefined
    ? { problems: result.problems }
    : { resource: result.resource as unknown as PlainResource, problems: [] };
};

export const resourceModel: ResourceModel = {
  parseManifests: (text, source) => readManifests(text, source, validateKind),
  check: (resource) => {
    const envelope = checkEnvelope(resource);
    if (envelope.resource === undefined) return { problems: envelope.problems };
    return validateKind(envelope.resource);
  },
};

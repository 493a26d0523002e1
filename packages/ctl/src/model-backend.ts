// caracalctl's view of the resource model: the CLI's envelope checks (manifest-reader.ts: apiVersion,
// known kind, metadata.name/namespace/labels, spec a mapping), then the kind-specific validation and
// defaults of @caracal/model. @caracal/model exports no validator yet (its src/index.ts is empty), so
// `validateKind` accepts what the envelope checks passed, unchanged, until it does.

import type { ResourceModel } from './backend.js';
import type { PlainResource } from './format/resource-table.js';
import { checkEnvelope, type KindValidator, readManifests } from './manifest-reader.js';

const validateKind: KindValidator = (resource: PlainResource) => ({ resource, problems: [] });

export const resourceModel: ResourceModel = {
  parseManifests: (text, source) => readManifests(text, source, validateKind),
  check: (resource) => {
    const envelope = checkEnvelope(resource);
    if (envelope.resource === undefined) return { problems: envelope.problems };
    return validateKind(envelope.resource);
  },
};

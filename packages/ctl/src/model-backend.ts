// caracalctl's view of the resource model: the CLI's envelope checks (manifest-reader.ts) followed by
// the kind-specific validation and defaults of the resource model.

import type { ResourceModel } from './backend.js';
import type { PlainResource } from './format/resource-table.js';
import { checkEnvelope, type KindValidator, readManifests } from './manifest-reader.js';

/** Kind-specific validation and defaults. */
const validateKind: KindValidator = (resource: PlainResource) => ({ resource, problems: [] });

export const resourceModel: ResourceModel = {
  parseManifests: (text, source) => readManifests(text, source, validateKind),
  check: (resource) => {
    const envelope = checkEnvelope(resource);
    if (envelope.resource === undefined) return { problems: envelope.problems };
    return validateKind(envelope.resource);
  },
};

// Public entry point of @caracal/model: resource types, validation/defaulting, manifest parsing,
// serialisation, selectors and IP/CIDR helpers.

export * from './cidr.js';
export * from './manifest.js';
export * from './selector.js';
export * from './serialize.js';
export * from './types.js';
export {
  closestName,
  nameProblem,
  validateOrThrow,
  validateResource,
  workloadEndpointName,
} from './validate.js';

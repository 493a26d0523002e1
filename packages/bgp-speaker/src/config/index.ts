// Public surface of the config module (re-exported by the package index): the caracal-bgpd YAML
// configuration (types, defaults, parser/validator with precise issues) and the reload diff.
export * from './diff.js';
export { loadConfigFile, type ParseConfigResult, parseConfig, prefixProblem, suggestKey } from './parse.js';
export * from './types.js';

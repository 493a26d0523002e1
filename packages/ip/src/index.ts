// Public entry point of @caracal/ip: IPv4/IPv6 address and CIDR parsing with precise errors, canonical
// (RFC 5952) formatting, addresses with an optional port, containment and overlap.
export * from './address.js';
export * from './address-port.js';
export * from './cidr.js';
export * from './errors.js';
export * from './ipv4.js';
export * from './ipv6.js';

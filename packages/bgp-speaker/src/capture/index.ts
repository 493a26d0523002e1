// Public surface of the capture module (re-exported by the package index): pcap/pcapng reading, link/IP/
// TCP decoding, TCP reassembly, BGP message framing per connection and direction, and the decoding
// context negotiated from the OPENs.
export * from './bgp-stream.js';
export * from './file.js';
export * from './packet.js';
export * from './pcap.js';
export * from './reassembly.js';
export * from './session-context.js';

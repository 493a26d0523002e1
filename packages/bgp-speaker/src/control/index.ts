// The control socket of caracal-bgpd: the JSON-lines protocol, the server over a SpeakerView, the client.
export * from './client.js';
export * from './protocol.js';
export * from './server.js';

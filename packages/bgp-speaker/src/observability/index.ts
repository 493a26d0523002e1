// Metrics (Prometheus) and health (liveness/readiness) endpoints of caracal-bgpd over a SpeakerView.
export * from './http.js';
export * from './metrics.js';

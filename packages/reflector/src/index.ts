// Public entry point of @caracal/reflector.
export * from './reflection.js';

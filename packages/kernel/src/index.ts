// Public entry point of @caracal/kernel.
export * from './address.js';
export * from './fake-route-table.js';
export * from './netlink-route-table.js';
export * from './reconcile.js';
export * from './routes.js';
export * from './sysctl.js';

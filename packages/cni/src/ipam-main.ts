#!/usr/bin/env node
// The `caracal-ipam` executable: a CNI IPAM plugin reading the network configuration on stdin and CNI_* in
// the environment, assigning from the IPPools in etcd through @caracal/ipam (see ipam-plugin.ts). The
// datastore and IPAM packages (etcd3/gRPC, ip-num) are imported only once a command needs them, so VERSION
// answers at plain Node.js start-up cost.
import { cniMain } from './cli.js';
import { nodeNameFor } from './node-name.js';

await cniMain('caracal-ipam', async (config, env) => {
  const [{ connectDatastore }, { etcdEndpointsFor }, { runIpamPlugin }] = await Promise.all([
    import('@caracal/datastore'),
    import('./datastore-access.js'),
    import('./ipam-plugin.js'),
  ]);
  const store = connectDatastore({ endpoints: etcdEndpointsFor(config, process.env) });
  try {
    return await runIpamPlugin(config, env, { store, node: nodeNameFor(config, process.env) });
  } finally {
    await store.close().catch(() => undefined);
  }
});

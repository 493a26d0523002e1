#!/usr/bin/env node
// The `caracal-ipam` executable: a CNI IPAM plugin reading the network configuration on stdin and CNI_* in
// the environment, assigning from the IPPools in etcd through @caracal/ipam (see ipam-plugin.ts).
import { connectDatastore } from '@caracal/datastore';
import { cniMain } from './cli.js';
import { etcdEndpointsFor, nodeNameFor } from './datastore-access.js';
import { runIpamPlugin } from './ipam-plugin.js';

await cniMain('caracal-ipam', async (config, env) => {
  const store = connectDatastore({ endpoints: etcdEndpointsFor(config, process.env) });
  try {
    return await runIpamPlugin(config, env, { store, node: nodeNameFor(config, process.env) });
  } finally {
    await store.close().catch(() => undefined);
  }
});

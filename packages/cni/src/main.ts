#!/usr/bin/env node
// The `caracal` executable: the main CNI plugin. It wires the pod with iproute2, delegates addresses to the
// IPAM plugin named by `ipam.type` on CNI_PATH, and records the WorkloadEndpoint in etcd (see plugin.ts).
import { connectDatastore } from '@caracal/datastore';
import { cniMain } from './cli.js';
import { etcdEndpointsFor, nodeNameFor } from './datastore-access.js';
import { DatastoreEndpointStore } from './endpoint-store.js';
import { ExecIpamDelegate } from './exec-ipam.js';
import { runPlugin } from './plugin.js';
import { IpRoute2PodNetworking } from './pod-network.js';

await cniMain('caracal', async (config, env) => {
  const store = connectDatastore({ endpoints: etcdEndpointsFor(config, process.env) });
  try {
    return await runPlugin(config, env, {
      networking: new IpRoute2PodNetworking(),
      ipam: new ExecIpamDelegate(process.env),
      endpoints: new DatastoreEndpointStore(store),
      defaultNodeName: nodeNameFor(config, process.env),
    });
  } finally {
    await store.close().catch(() => undefined);
  }
});

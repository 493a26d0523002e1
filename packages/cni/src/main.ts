#!/usr/bin/env node
// The `caracal` executable: the main CNI plugin. It wires the pod with iproute2, delegates addresses to the
// IPAM plugin named by `ipam.type` on CNI_PATH, and records the WorkloadEndpoint in etcd (see plugin.ts).
// Start-up is most of its cost, so only light modules load up front: VERSION loads nothing else; ADD and
// DEL start the IPAM plugin first and load the datastore modules (etcd3/gRPC) while it runs; CHECK, STATUS
// and GC connect before anything else, as they always did.
import { cniMain } from './cli.js';
import { ExecIpamDelegate } from './exec-ipam.js';
import { LazyDatastoreEndpointStore } from './lazy-datastore.js';
import { nodeNameFor } from './node-name.js';
import { runPlugin } from './plugin.js';
import { IpRoute2PodNetworking } from './pod-network.js';

await cniMain('caracal', async (config, env) => {
  const datastore = new LazyDatastoreEndpointStore(config, process.env);
  try {
    if (env.command !== 'ADD' && env.command !== 'DEL') await datastore.load();
    return await runPlugin(config, env, {
      networking: new IpRoute2PodNetworking(),
      ipam: new ExecIpamDelegate(process.env, () => datastore.prefetch()),
      endpoints: datastore,
      defaultNodeName: nodeNameFor(config, process.env),
    });
  } finally {
    await datastore.close();
  }
});

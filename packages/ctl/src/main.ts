#!/usr/bin/env node
// The caracalctl executable: runs the command line against the real process and the real model,
// datastore and IPAM packages, and exits with the code runCli chose (0 ok, 1 failure, 2 usage).

import { runCli } from './cli.js';
import { localDatastoreAdmin, openResourceStore } from './datastore-backend.js';
import { processIo } from './io.js';
import { ipamOperations } from './ipam-backend.js';
import { resourceModel } from './model-backend.js';

// Deprecation warnings of dependencies (e.g. gRPC setting a TLS server name to an IP address) speak to
// developers, not to the operator reading this command's output.
process.noDeprecation = true;

const exitCode = await runCli(process.argv.slice(2), processIo(), {
  model: resourceModel,
  openStore: openResourceStore,
  ipam: ipamOperations,
  datastore: localDatastoreAdmin,
});
// Output is written synchronously to files, pipes and terminals on Linux, so exiting now loses nothing
// and does not wait for the etcd client's idle connections to wind down.
process.exit(exitCode);

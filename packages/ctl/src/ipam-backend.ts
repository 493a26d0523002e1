// caracalctl's IPAM operations. Interim: @caracal/ipam does not export ipamShow/ipamCheck/ipamRelease
// yet, so every ipam command fails with that precise reason until it does.
import type { IpamOperations } from './admin.js';
import { CommandFailure } from './errors.js';

const notYetAvailable = async (): Promise<never> => {
  throw new CommandFailure(
    'ipam commands need @caracal/ipam (ipamShow, ipamCheck, ipamRelease), not built in yet',
  );
};

export const ipamOperations: IpamOperations = {
  usage: notYetAvailable,
  check: notYetAvailable,
  releaseIps: notYetAvailable,
  releaseFromReport: notYetAvailable,
};

import type { Connect } from './commands';
import { fail, ok, type Result } from './errors';
import type { NetworkRecord, SandboxRecord, StoreState } from './state';

/*
 * Which sandboxes a network may be connected to. A --network none sandbox has loopback only and a
 * --network host one is the node's own namespace: neither joins networks (Docker's rule). A sandbox
 * sharing another's namespace (netns_from) has that one's interfaces: networks connect to the
 * sandbox that owns them. And a local network (bridge, macvlan, ipvlan) exists on its node only.
 */

export function refuseUnconnectable(state: StoreState, network: NetworkRecord, sandbox: SandboxRecord, command: Connect): Result<void> {
  if (sandbox.networkMode === 'host') {
    if ((command.publishedPorts ?? []).length > 0 || command.publishAll) {
      const field = (command.publishedPorts ?? []).length > 0 ? 'published_ports' : 'publish_all';
      return fail(
        'FAILED_PRECONDITION',
        field,
        `${field}: sandbox "${sandbox.name}" uses the host's network (--network host): what listens in it listens on node "${state.node(sandbox.nodeId).name}"'s own addresses already, so there is nothing to publish; publish only from a sandbox with a namespace of its own`,
      );
    }
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" uses the host's network (--network host): it has the node's interfaces and joins no network; create a sandbox without --network host to connect it`,
    );
  }
  if (sandbox.networkMode === 'none') {
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" was created with --network none (loopback only) and joins no network; create a sandbox without --network none to connect it`,
    );
  }
  if (sandbox.netnsFrom !== undefined) {
    const owner = state.sandboxes.get(sandbox.netnsFrom);
    const fix = owner ? `connect "${owner.name}" instead (trellis network connect ${network.name} ${owner.name})` : 'connect a sandbox that has a namespace of its own';
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" shares the namespace of ${owner ? `sandbox "${owner.name}"` : `a removed sandbox (${sandbox.netnsFrom})`} (--netns-from), whose networks it sees; ${fix}`,
    );
  }
  if (network.nodeId !== undefined && network.nodeId !== sandbox.nodeId) {
    const home = state.node(network.nodeId).name;
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" is on node "${state.node(sandbox.nodeId).name}", but ${network.driver} network "${network.name}" is local to node "${home}"; connect a sandbox on "${home}", or use an overlay network to span nodes`,
    );
  }
  return ok(undefined);
}

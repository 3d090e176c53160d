/** The lab's kernel side: the underlay bridge namespace and one namespace per host, joined by veth pairs. */
import { HOST_DEVICE, UNDERLAY_BRIDGE, UNDERLAY_NAMESPACE, UNDERLAY_PREFIX_LENGTH, type HostPlan } from './plan';
import { run } from './run';

export async function createUnderlay(): Promise<void> {
  await run(['ip', 'netns', 'add', UNDERLAY_NAMESPACE]);
  await ipIn(UNDERLAY_NAMESPACE, 'link', 'set', 'lo', 'up');
  await ipIn(UNDERLAY_NAMESPACE, 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge');
  await ipIn(UNDERLAY_NAMESPACE, 'link', 'set', UNDERLAY_BRIDGE, 'up');
}

/** The veth pair is made inside the underlay namespace, so no lab link ever appears in the root namespace. */
export async function createHost(host: HostPlan): Promise<void> {
  await run(['ip', 'netns', 'add', host.namespace]);
  await ipIn(host.namespace, 'link', 'set', 'lo', 'up');
  await ipIn(UNDERLAY_NAMESPACE, 'link', 'add', host.underlayLink, 'type', 'veth', 'peer', 'name', HOST_DEVICE, 'netns', host.namespace);
  await ipIn(UNDERLAY_NAMESPACE, 'link', 'set', host.underlayLink, 'master', UNDERLAY_BRIDGE, 'up');
  await ipIn(host.namespace, 'addr', 'add', `${host.address}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', HOST_DEVICE);
  await ipIn(host.namespace, 'link', 'set', HOST_DEVICE, 'up');
}

/** Gives a host one more underlay address (a second address on its link: an agent restarted with another --advertise-addr). */
export async function addHostAddress(host: Pick<HostPlan, 'namespace'>, address: string): Promise<void> {
  await ipIn(host.namespace, 'addr', 'replace', `${address}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', HOST_DEVICE);
}

export async function listNamespaces(): Promise<string[]> {
  const output = (await run(['ip', '-j', 'netns', 'list'])).trim();
  if (output === '') return [];
  return (JSON.parse(output) as { name: string }[]).map((n) => n.name);
}

export async function deleteNamespace(name: string): Promise<void> {
  await run(['ip', 'netns', 'delete', name]);
}

/** The alias of the namespace's loopback, where agents tag the sandbox namespaces they create with their owner. */
export async function loopbackAlias(name: string): Promise<string | undefined> {
  const [lo] = JSON.parse(await ipIn(name, '-j', 'link', 'show', 'dev', 'lo')) as Array<{ ifalias?: string }>;
  return lo?.ifalias;
}

/** Processes still inside a namespace: deleting the namespace would leave them running, detached from any name. */
export async function namespacePids(name: string): Promise<number[]> {
  const output = await run(['ip', 'netns', 'pids', name]);
  return output.split(/\s+/).filter(Boolean).map(Number);
}

function ipIn(namespace: string, ...args: string[]): Promise<string> {
  return run(['ip', '-n', namespace, ...args]);
}

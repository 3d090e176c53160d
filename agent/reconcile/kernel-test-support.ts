import { CommandRunner, processRunner } from '../kernel';

/** Shell-free helpers for the reconciler's kernel tests (root, real namespaces each test makes and removes). */

export const run: CommandRunner['run'] = (argv, stdin) => processRunner.run(argv, stdin);

export async function pings(fromNetns: string, toIp: string): Promise<boolean> {
  // A few tries: the very first packet can be lost while a freshly added port settles.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await run(['ip', 'netns', 'exec', fromNetns, 'ping', '-c', '1', '-W', '2', toIp]);
      return true;
    } catch {
      // try again
    }
  }
  return false;
}

export async function netnsNames(): Promise<string[]> {
  const text = await run(['ip', '-j', 'netns', 'list']);
  return text.trim() === '' ? [] : (JSON.parse(text) as { name: string }[]).map((ns) => ns.name);
}

/** By exact name, and only if present: teardown must not fail on what a failed test never made. */
export async function deleteNetnsIfPresent(name: string): Promise<void> {
  if ((await netnsNames()).includes(name)) await run(['ip', 'netns', 'del', name]);
}

/** A "host": a namespace of its own with an up veth `uplink` (the underlay device) holding `address`/24. */
export async function createTestHost(netns: string, address: string): Promise<void> {
  await run(['ip', 'netns', 'add', netns]);
  await run(['ip', '-n', netns, 'link', 'add', 'uplink', 'up', 'type', 'veth', 'peer', 'name', 'uplink-peer']);
  await run(['ip', '-n', netns, 'link', 'set', 'dev', 'uplink-peer', 'up']);
  await run(['ip', '-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'uplink']);
}

/**
 * Hosts (namespaces of their own) on one underlay bridge, in a namespace of its own: each host's
 * underlay device is `uplink`, holding its `ip`/24.
 */
export async function createUnderlay(underlayNs: string, hosts: readonly { ns: string; ip: string }[]): Promise<void> {
  await run(['ip', 'netns', 'add', underlayNs]);
  await run(['ip', '-n', underlayNs, 'link', 'add', 'underlay', 'up', 'type', 'bridge']);
  for (const [index, host] of hosts.entries()) {
    await run(['ip', 'netns', 'add', host.ns]);
    const port = `port${index}`;
    await run(['ip', '-n', underlayNs, 'link', 'add', port, 'master', 'underlay', 'up', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', host.ns]);
    await run(['ip', '-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'uplink']);
    await run(['ip', '-n', host.ns, 'link', 'set', 'dev', 'uplink', 'up']);
    await run(['ip', '-n', host.ns, 'link', 'set', 'dev', 'lo', 'up']);
  }
}

/** The kernel tears a deleted namespace down in the background: what it takes along goes a moment later. */
export async function settled<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 100 && !done(value); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

import { Scope } from './actions';
import { KernelRefusal, MemNamespace, NetnsName, destroyNamespace, newNamespace } from './memory-state';
import { netnsRunPath, processNetnsPath } from './names';

/**
 * The machine around MemoryKernel's namespaces: the host namespace (where the agent runs, which
 * is also where the host links live), the names under /run/netns and the processes, each of
 * which keeps a namespace alive. A namespace ends when nothing refers to it any more.
 */
export class MemoryWorld {
  readonly host: MemNamespace;
  readonly names = new Map<string, NetnsName>();
  readonly processes = new Map<number, MemNamespace>();
  private lastNamespaceId = 0;
  private lastPid = 4000;
  private lastMac = 0;

  constructor(readonly brNetfilter: boolean) {
    this.host = this.newNamespace();
  }

  newNamespace(): MemNamespace {
    this.lastNamespaceId += 1;
    return newNamespace(this.lastNamespaceId, this.brNetfilter);
  }

  /** Locally administered, unicast, and never repeated: stands for the kernel's random MACs. */
  newMac(): string {
    this.lastMac += 1;
    const bytes = [0x0a, 0x5e, (this.lastMac >> 24) & 0xff, (this.lastMac >> 16) & 0xff, (this.lastMac >> 8) & 0xff, this.lastMac & 0xff];
    return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
  }

  startProcess(): number {
    this.lastPid += 1;
    this.processes.set(this.lastPid, this.newNamespace());
    return this.lastPid;
  }

  killProcess(pid: number): void {
    const ns = this.processes.get(pid);
    if (ns === undefined) throw new Error(`no process ${pid}`);
    this.processes.delete(pid);
    this.release(ns);
  }

  /** `ip netns add`. */
  addName(name: string): MemNamespace {
    this.claimName(name);
    const ns = this.newNamespace();
    this.names.set(name, { ns });
    return ns;
  }

  /** `ip netns attach NAME PID`. */
  attachName(name: string, pid: number): void {
    const ns = this.processes.get(pid);
    if (ns === undefined) throw new KernelRefusal(`Cannot open network namespace of pid ${pid}: No such file or directory`);
    this.nameNamespace(name, ns);
  }

  /** `ip netns attach NAME $$` typed in `ns`. */
  nameNamespace(name: string, ns: MemNamespace): void {
    this.claimName(name);
    this.names.set(name, { ns });
  }

  /** `ip netns del`: unmounts the name; the namespace goes only if nothing else holds it. */
  deleteName(name: string): void {
    const named = this.names.get(name);
    if (named === undefined) throw new KernelRefusal(`Cannot remove namespace file "${netnsRunPath(name)}": No such file or directory`);
    this.names.delete(name);
    if ('ns' in named) this.release(named.ns);
  }

  /** The namespace a name leads to, as `nsenter --net=/run/netns/NAME` would find it. */
  named(name: string): MemNamespace {
    const named = this.names.get(name);
    if (named === undefined) throw new KernelRefusal(`nsenter: cannot open ${netnsRunPath(name)}: No such file or directory`);
    if (!('ns' in named)) throw new KernelRefusal(`nsenter: reassociate to namespace 'ns/net' failed: Invalid argument`);
    return named.ns;
  }

  enter(scope: Scope): MemNamespace {
    return scope.kind === 'netns' ? this.named(scope.netns) : this.host;
  }

  /** What `stat -L -c %d:%i PATH` tells apart: undefined when the path does not exist. */
  identity(path: string): string | undefined {
    if (path === processNetnsPath('self')) return nsfsId(this.host);
    for (const [name, named] of this.names) {
      if (netnsRunPath(name) === path) return 'ns' in named ? nsfsId(named.ns) : `tmpfs:${name}`;
    }
    for (const [pid, ns] of this.processes) {
      if (processNetnsPath(pid) === path) return nsfsId(ns);
    }
    return undefined;
  }

  /** Every live namespace, the host's first. */
  namespaces(): MemNamespace[] {
    const all = new Set<MemNamespace>([this.host, ...this.processes.values()]);
    for (const named of this.names.values()) if ('ns' in named) all.add(named.ns);
    return [...all];
  }

  private claimName(name: string): void {
    if (this.names.has(name)) throw new KernelRefusal(`Cannot create namespace file "${netnsRunPath(name)}": File exists`);
  }

  private release(ns: MemNamespace): void {
    const held = ns === this.host || [...this.processes.values()].includes(ns)
      || [...this.names.values()].some((named) => 'ns' in named && named.ns === ns);
    if (!held) destroyNamespace(ns);
  }
}

function nsfsId(ns: MemNamespace): string {
  return `nsfs:${ns.id}`;
}

import { trellis, trellisOk } from './lab-driver';

/**
 * The networks and sandboxes a scenario makes through the CLI, remembered so that it can remove
 * them all: strictly when removal is what it tests, and best effort after a failure.
 */
export class CreatedObjects {
  private readonly networks: string[] = [];
  private readonly sandboxes: string[] = [];

  network(name: string, options: string[] = []): void {
    trellisOk('m1', ['network', 'create', ...options, name]);
    this.networks.push(name);
  }

  sandbox(name: string, node: string): void {
    trellisOk('m1', ['sandbox', 'create', name, '--node', node]);
    this.sandboxes.push(name);
  }

  /** Sandboxes first: removing one takes its endpoints, and a network with endpoints cannot go. */
  removeAll(): void {
    this.remove((args) => trellisOk('m1', args));
  }

  /** For afterAll: whatever a failed scenario left, without letting one refusal stop the rest. */
  removeWhatRemains(): void {
    this.remove((args) => trellis('m1', args));
  }

  /** A name is forgotten once its removal returned, so a removal that threw is tried again later. */
  private remove(call: (args: string[]) => unknown): void {
    for (const [kind, names] of [['sandbox', this.sandboxes], ['network', this.networks]] as const) {
      for (let name = names[0]; name !== undefined; name = names[0]) {
        call([kind, 'rm', name]);
        names.shift();
      }
    }
  }
}

/**
 * Which manager to try next: the leader a follower named, else the next one in
 * the configured list. Named leaders are remembered, so an agent configured
 * with one manager still finds its way after that manager is replaced.
 */
export class ManagerRotation {
  private readonly known: string[];
  private position = 0;

  constructor(managers: string[]) {
    if (managers.length === 0) throw new Error('at least one manager address is needed');
    this.known = [...new Set(managers)];
  }

  current(): string {
    return this.known[this.position] ?? this.known[0] ?? '';
  }

  advance(namedLeader: string | undefined): string {
    if (namedLeader) {
      if (!this.known.includes(namedLeader)) this.known.push(namedLeader);
      this.position = this.known.indexOf(namedLeader);
    } else {
      this.position = (this.position + 1) % this.known.length;
    }
    return this.current();
  }
}

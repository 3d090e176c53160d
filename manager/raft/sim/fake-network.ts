import type { Message, NodeId } from '../core';
import type { Prng } from './prng';

/** Per-message faults; partitions are separate, as explicit link state. */
export interface MessageFaults {
  dropRate: number;
  duplicateRate: number;
  /** A message waits up to this many steps before it can be delivered. */
  maxDelay: number;
}

export const noMessageFaults: MessageFaults = { dropRate: 0, duplicateRate: 0, maxDelay: 0 };

export interface InFlight {
  message: Message;
  /** The step from which the message may be delivered. */
  deliverableAt: number;
  /** The sender's life when sending, so that a report back reaches only that life. */
  senderIncarnation: number;
}

/** lost: dropped silently, as by a lossy link; unreachable: the link is cut, which a transport notices. */
export type DeliveryOutcome = 'delivered' | 'lost' | 'unreachable';

/**
 * The network between the simulated nodes. Messages wait in one pool and are
 * delivered in random order (reordering), possibly twice (duplication), late
 * (delay) or not at all (drop, or a cut link at delivery time). Links are
 * undirected; cutting some but not all of them gives partial partitions.
 */
export class FakeNetwork {
  private inFlight: InFlight[] = [];
  private readonly cutLinks = new Set<string>();
  faults: MessageFaults;

  constructor(
    private readonly prng: Prng,
    faults: MessageFaults,
  ) {
    this.faults = faults;
  }

  send(message: Message, now: number, senderIncarnation: number): void {
    const copies = this.prng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      this.inFlight.push({ message, deliverableAt: now + this.prng.int(this.faults.maxDelay + 1), senderIncarnation });
    }
  }

  /** Removes and returns a random message that may be delivered now, with what became of it. */
  takeOne(now: number): { flight: InFlight; outcome: DeliveryOutcome } | undefined {
    const ready: number[] = [];
    this.inFlight.forEach((flight, position) => {
      if (flight.deliverableAt <= now) ready.push(position);
    });
    if (ready.length === 0) return undefined;
    const position = this.prng.pick(ready);
    const flight = this.inFlight[position];
    this.inFlight[position] = this.inFlight[this.inFlight.length - 1];
    this.inFlight.pop();
    const { from, to } = flight.message;
    const outcome = this.isCut(from, to) ? 'unreachable' : this.prng.chance(this.faults.dropRate) ? 'lost' : 'delivered';
    return { flight: { ...flight, message: copyMessage(flight.message) }, outcome };
  }

  isCut(a: NodeId, b: NodeId): boolean {
    return this.cutLinks.has(linkName(a, b));
  }

  cut(a: NodeId, b: NodeId): void {
    if (a !== b) this.cutLinks.add(linkName(a, b));
  }

  /** Cuts every link between the two sides. */
  split(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) for (const b of sideB) this.cut(a, b);
  }

  healAll(): void {
    this.cutLinks.clear();
  }

  describeCuts(): string[] {
    return [...this.cutLinks].sort();
  }
}

function linkName(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

/** Each delivery gets its own copy, as a real network deserializes a fresh object. */
function copyMessage(message: Message): Message {
  return { ...message, entries: message.entries.map((entry) => ({ ...entry })) };
}

/** Where a published port leads: the DNAT target. */
export interface Target {
  address: string;
  port: number;
}

export interface RelayHooks {
  /** A connection (TCP) or client flow (UDP) began. */
  relayed(): void;
  /** A client's or target's problem: it ends that connection or flow, never the listener. */
  onError(error: Error): void;
}

/** One listener and everything it relays. */
export interface Relay {
  close(): void;
}

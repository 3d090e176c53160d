/*
 * The few parts of hyperdht and hyperswarm (holepunch's packages, which ship no types) that
 * Trellis uses, as they behave in hyperdht 6.34 and hyperswarm 4.17. Files that import them
 * reference this file.
 */

declare module 'hyperdht' {
  import { EventEmitter } from 'node:events';

  namespace HyperDHT {
    interface KeyPair {
      publicKey: Buffer;
      secretKey: Buffer;
    }
    interface Address {
      host: string;
      port: number;
    }
    interface Options {
      /** Required here: without it hyperdht contacts its public bootstrap hosts. */
      bootstrap: Address[];
      /** The address the UDP sockets bind to. */
      host?: string;
      /** A port, or a range [from, to) tried in order; [0, 0] binds any free port. */
      port?: number | [number, number];
      /** Whether to fall back to any port when `port` is taken. */
      anyPort?: boolean;
      /** false: a routing node from the start (others store records on it and route through it). */
      ephemeral?: boolean;
      /** false: reachable as it is, no NAT probing. */
      firewalled?: boolean;
    }
    /** An end-to-end encrypted (Noise) stream to one peer: a streamx Duplex. */
    interface SecretStream {
      readonly remotePublicKey: Buffer;
      readonly publicKey: Buffer;
      write(data: Uint8Array): boolean;
      destroy(error?: Error): void;
      on(event: 'data', listener: (data: Buffer) => void): this;
      on(event: 'error', listener: (error: Error) => void): this;
      on(event: 'close', listener: () => void): this;
    }
  }

  class HyperDHT extends EventEmitter {
    constructor(options: HyperDHT.Options);
    static keyPair(seed?: Buffer): HyperDHT.KeyPair;
    /**
     * A persistent, unfirewalled node that knows from the start that peers reach it at
     * host:port (a routing node even with no other node to tell it its address). `host` must be
     * an IPv4 address other than 0.0.0.0; options still need `host` and `port` to bind them.
     */
    static bootstrapper(port: number, host: string, options: HyperDHT.Options): HyperDHT;
    /** Binds the UDP sockets (rejects when the port is taken); bootstrapping starts on its own. */
    bind(): Promise<void>;
    /** The bound server socket's address (null before binding). */
    address(): HyperDHT.Address | null;
    /** The routing nodes this node knows, most recently seen first. */
    toArray(): HyperDHT.Address[];
    destroy(options?: { force?: boolean }): Promise<void>;
  }

  export = HyperDHT;
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events';
  import HyperDHT = require('hyperdht');

  namespace Hyperswarm {
    interface Options {
      keyPair: HyperDHT.KeyPair;
      dht: HyperDHT;
      /** Returning true REFUSES the peer (on both incoming and outgoing connections), and bans it in this swarm. */
      firewall: (remotePublicKey: Buffer) => boolean;
      maxPeers?: number;
      /**
       * Redial delays (ms) after a lost or failed connection: the first retry of a peer once
       * connected, then [1]…[2]; a peer dialed by key (joinPeer) keeps retrying every [2].
       */
      backoffs?: [number, number, number, number];
      /** Random extra delay (ms) on each backoff. */
      jitter?: number;
    }
    interface PeerInfo {
      readonly publicKey: Buffer;
      readonly banned: boolean;
      ban(banned: boolean): void;
    }
  }

  class Hyperswarm extends EventEmitter {
    constructor(options: Hyperswarm.Options);
    readonly dht: HyperDHT;
    /** Every peer the swarm knows of, by public key (hex), connected or not. */
    readonly peers: Map<string, Hyperswarm.PeerInfo>;
    /** Announces on and looks up the topic, in the background, until left. */
    join(topic: Buffer, options: { server: boolean; client: boolean }): void;
    leave(topic: Buffer): Promise<void>;
    /** Keeps dialing this peer (found by its key in the DHT) until leavePeer. */
    joinPeer(publicKey: Buffer): void;
    leavePeer(publicKey: Buffer): void;
    listen(): Promise<void>;
    destroy(): Promise<void>;
    on(event: 'connection', listener: (socket: HyperDHT.SecretStream, peer: Hyperswarm.PeerInfo) => void): this;
  }

  export = Hyperswarm;
}

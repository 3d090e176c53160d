/*
 * The gossip DHT's ports, apart from dht-node.ts so that what only reserves them (the store's
 * reserved ports, the managers' API) does not load hyperdht and its native modules.
 */

/** A manager's DHT bootstrap node listens here (UDP), on its advertised address. */
export const MANAGER_DHT_PORT = 4790;
/** An agent's DHT node listens here (UDP), so that peers that know its address can bootstrap from it. */
export const AGENT_DHT_PORT = 4791;
export const DHT_PROTOCOL = 'udp' as const;

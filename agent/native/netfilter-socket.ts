/** The socket constants (Linux, every architecture) by which a netfilter netlink socket is made and recognised. */
export const AF_NETLINK = 16;
export const NETLINK_NETFILTER = 12;
export const SOL_SOCKET = 1;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SO_RCVTIMEO = 20;

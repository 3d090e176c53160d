/** The DNS name every manager certificate carries, whatever the manager's address. */
export const MANAGER_SERVER_NAME = 'trellis-manager';

/**
 * Channel options for every client of a manager. Certificates name nodes, not
 * addresses, so the TLS server name is a fixed word: Node refuses an IP address
 * there (DEP0123), and the role check replaces the host-name check.
 */
export const managerChannelOptions = { 'grpc.ssl_target_name_override': MANAGER_SERVER_NAME } as const;

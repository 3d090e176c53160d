import type { ChannelCredentials } from '@grpc/grpc-js';
import { ControlClient } from '../proto/gen/trellis/v1/control';
import { channelCredentials, joinWithToken, managerChannelOptions, readTlsDir } from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';

/*
 * Clients of a running cluster as tests and benches need them: the CLI's
 * admin certificate, and a node that joined with a token like an agent does.
 */

/** Credentials from the admin certificate a new cluster wrote to `adminDir`. */
export function adminCredentials(adminDir: string): ChannelCredentials {
  const admin = readTlsDir(adminDir, 'admin');
  if (!admin) throw new Error(`no admin certificate in ${adminDir}`);
  return channelCredentials(admin);
}

export function adminControl(address: string, adminDir: string): ControlClient {
  return new ControlClient(address, adminCredentials(adminDir), managerChannelOptions);
}

/** A node certificate got through the CA service with the `role` join token, as credentials. */
export async function joinedNodeCredentials(address: string, adminDir: string, role: 'worker' | 'manager'): Promise<ChannelCredentials> {
  const control = adminControl(address, adminDir);
  try {
    const tokens = await callUnary(control, (c) => c.getJoinTokens, {}, 10_000);
    const joined = await joinWithToken([address], tokens[role]);
    return channelCredentials(joined);
  } finally {
    control.close();
  }
}

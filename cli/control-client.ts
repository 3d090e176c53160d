import { status, type ServiceError } from '@grpc/grpc-js';
import { CertificateAuthorityClient } from '../proto/gen/trellis/v1/ca';
import { LOCKED_MESSAGE } from '../proto/runtime/locked';
import { ControlClient } from '../proto/gen/trellis/v1/control';
import { channelCredentials, type ChannelMaterial } from '../proto/runtime/tls/grpc-credentials';
import { managerChannelOptions } from '../proto/runtime/tls/channel-options';
import { CommandError } from './command-error';
import { allPages } from '../proto/runtime/pages';
import { callUnary, type UnaryMethod } from '../proto/runtime/unary-call';

const callTimeoutMs = 15_000;

/**
 * The Control API as promises, for one command-line invocation. Given several
 * managers, a call that finds one unavailable (or locked, under autolock) is tried
 * on the next; any manager serves any call (followers forward writes to the leader).
 */
export class Control {
  private readonly clients = new Map<string, ControlClient>();
  private readonly caClients = new Map<string, CertificateAuthorityClient>();

  constructor(
    private readonly addresses: string[],
    private readonly material: ChannelMaterial,
  ) {
    if (addresses.length === 0) throw new CommandError('--manager: give at least one HOST:PORT');
  }

  call<Req, Res>(pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return this.onAnyManager((address) => callUnary(this.client(this.clients, ControlClient, address), pick, request, callTimeoutMs));
  }

  /** A call to the managers' CA service, with the same credentials (the admin certificate). */
  callCa<Req, Res>(pick: (client: CertificateAuthorityClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return this.onAnyManager((address) => callUnary(this.client(this.caClients, CertificateAuthorityClient, address), pick, request, callTimeoutMs));
  }

  private async onAnyManager<Res>(attempt: (address: string) => Promise<Res>): Promise<Res> {
    let lastError: ServiceError | undefined;
    for (const address of this.addresses) {
      try {
        return await attempt(address);
      } catch (error) {
        lastError = error as ServiceError;
        if (lastError.code !== status.UNAVAILABLE && !isLocked(lastError)) break;
      }
    }
    throw new CommandError(this.describe(lastError));
  }

  /**
   * Every object of a List call, following its pages (the server's default size each),
   * so the command shows the whole list whatever its size.
   */
  listAll<Res extends { nextPageToken: string }, T>(
    pick: (client: ControlClient) => UnaryMethod<{ pageSize: number; pageToken: string }, Res>,
    items: (response: Res) => T[],
  ): Promise<T[]> {
    return allPages(async (pageToken) => {
      const response = await this.call(pick, { pageSize: 0, pageToken });
      return { items: items(response), nextPageToken: response.nextPageToken };
    });
  }

  /** The managers this client was given, in order. */
  managers(): readonly string[] {
    return this.addresses;
  }

  /** One call to one manager, without trying the others (e.g. unlocking each of them). */
  callAt<Req, Res>(address: string, pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return callUnary(this.client(this.clients, ControlClient, address), pick, request, callTimeoutMs);
  }

  close(): void {
    for (const client of [...this.clients.values(), ...this.caClients.values()]) client.close();
  }

  private client<C>(clients: Map<string, C>, Client: new (...args: ConstructorParameters<typeof ControlClient>) => C, address: string): C {
    let client = clients.get(address);
    if (!client) {
      client = new Client(address, channelCredentials(this.material), managerChannelOptions);
      clients.set(address, client);
    }
    return client;
  }

  private describe(error: ServiceError | undefined): string {
    if (error === undefined) return 'no manager answered';
    const where = this.addresses.join(', ');
    if (error.code === status.DEADLINE_EXCEEDED || (error.code === status.UNAVAILABLE && /connect|No connection/i.test(error.details))) {
      return `cannot reach a manager at ${where} (${status[error.code]}): start one, or pass --manager HOST:PORT[,HOST:PORT...]`;
    }
    return `${error.details} (${status[error.code]})`;
  }
}

/** A manager restarted under autolock and not yet unlocked: it serves nothing, another may. */
function isLocked(error: ServiceError): boolean {
  return error.code === status.FAILED_PRECONDITION && error.details === LOCKED_MESSAGE;
}

export { CommandError };

import { credentials, Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { ControlClient } from '../proto/gen/trellis/v1/control';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

const callTimeoutMs = 15_000;

/** The Control API as promises, for one command-line invocation. */
export class Control {
  private readonly client: ControlClient;

  constructor(readonly address: string) {
    this.client = new ControlClient(address, credentials.createInsecure());
  }

  call<Req, Res>(pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const method = pick(this.client).bind(this.client);
    const deadline = new Date(Date.now() + callTimeoutMs);
    return new Promise((resolve, reject) =>
      method(request, new Metadata(), { deadline }, (error, response) =>
        error ? reject(new CommandError(this.describe(error))) : resolve(response),
      ),
    );
  }

  close(): void {
    this.client.close();
  }

  private describe(error: ServiceError): string {
    if (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED) {
      return `cannot reach a manager at ${this.address} (${status[error.code]}): start one, or pass --manager HOST:PORT`;
    }
    return `${error.details} (${status[error.code]})`;
  }
}

/** A failure to report to the user as one line, without a stack. */
export class CommandError extends Error {}

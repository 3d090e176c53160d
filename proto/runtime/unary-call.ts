import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

/** The callback form every ts-proto grpc-js client method has. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** One unary call as a promise, with a deadline. */
export function callUnary<Client, Req, Res>(
  client: Client,
  pick: (client: Client) => UnaryMethod<Req, Res>,
  request: Req,
  timeoutMs: number,
): Promise<Res> {
  const method = pick(client).bind(client);
  return new Promise((resolve, reject) =>
    method(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

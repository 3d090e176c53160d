import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DispatcherClient,
  type AgentMessage,
  type ManagerMessage,
  type NodeView,
  type RegisterResponse,
} from '../../proto/gen/trellis/v1/dispatcher';

export interface ManagerSessionOptions {
  /** HOST:PORT of a manager. */
  manager: string;
  nodeName: string;
  advertiseAddr: string;
  logger: Logger;
  /** Called with every desired view the manager sends, in order. */
  onView(view: NodeView): void;
}

const firstRetryMs = 200;
const maxRetryMs = 2000;

/**
 * Keeps the agent registered and in session with a manager: reconnects with
 * backoff whenever the stream breaks, and resumes from the last programmed revision.
 */
export class ManagerSession {
  private readonly client: DispatcherClient;
  private stream: ClientDuplexStream<AgentMessage, ManagerMessage> | undefined;
  private retryMs = firstRetryMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastProgrammedRevision = 0;

  constructor(private readonly options: ManagerSessionOptions) {
    this.client = new DispatcherClient(options.manager, credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 5000,
      'grpc.keepalive_timeout_ms': 3000,
    });
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.client.close();
  }

  /** Tells the manager the kernel now holds the view of `revision`. */
  reportProgrammed(revision: number): void {
    this.lastProgrammedRevision = revision;
    this.stream?.write({ body: { $case: 'programmed', value: { revision } } });
  }

  private async connect(): Promise<void> {
    try {
      const { nodeId } = await this.register();
      this.openStream(nodeId);
    } catch (error) {
      this.retryLater(error);
    }
  }

  private register(): Promise<RegisterResponse> {
    const { nodeName, advertiseAddr } = this.options;
    return new Promise((resolve, reject) =>
      this.client.register({ nodeName, advertiseAddr }, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }

  private openStream(nodeId: string): void {
    const stream = this.client.session();
    this.stream = stream;
    stream.on('data', (message: ManagerMessage) => {
      this.retryMs = firstRetryMs;
      if (message.body?.$case === 'view') this.options.onView(message.body.value);
    });
    stream.on('error', (error: Error) => this.onStreamClosed(stream, error));
    stream.on('end', () => this.onStreamClosed(stream, new Error('manager ended the session')));
    stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: this.lastProgrammedRevision } } });
    this.options.logger.info({ manager: this.options.manager, nodeId }, 'session opened');
  }

  private onStreamClosed(stream: ClientDuplexStream<AgentMessage, ManagerMessage>, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.retryLater(error);
  }

  private retryLater(error: unknown): void {
    if (this.stopped) return;
    this.options.logger.warn({ err: error, retryMs: this.retryMs }, 'manager session lost; retrying');
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
  }
}

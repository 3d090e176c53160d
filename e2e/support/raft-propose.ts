/**
 * A raw `trellis.v1.Raft/Propose` call, as any holder of a manager certificate can make it.
 * `node raft-propose.js ADDRESS TLS_DIR PAYLOAD` sends PAYLOAD's bytes as the command, with the
 * node certificate of TLS_DIR (a manager's `data/tls`), and prints one JSON line: a ProposeOutcome.
 * Run it inside a lab host (`lab exec`), where the managers' addresses are reachable.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { RaftClient } from '../../proto/gen/trellis/v1/raft';
import { channelCredentials, managerChannelOptions, readTlsDir } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';

export type ProposeOutcome = { ok: true; result: string } | { ok: false; code: string; field: string; details: string };

async function propose(address: string, tlsDir: string, payload: string): Promise<ProposeOutcome> {
  const material = readTlsDir(tlsDir, 'node');
  if (!material) throw new Error(`${tlsDir} holds no node certificate`);
  const client = new RaftClient(address, channelCredentials(material), managerChannelOptions);
  try {
    const reply = await callUnary(client, (c) => c.propose, { command: Buffer.from(payload, 'utf8') }, 10_000);
    return { ok: true, result: Buffer.from(reply.result).toString('utf8') };
  } catch (error) {
    const failure = error as ServiceError;
    return { ok: false, code: status[failure.code] ?? String(failure.code), field: String(failure.metadata?.get('trellis-field')[0] ?? ''), details: failure.details };
  } finally {
    client.close();
  }
}

if (require.main === module) {
  const [address, tlsDir, payload] = process.argv.slice(2);
  if (address === undefined || tlsDir === undefined || payload === undefined) throw new Error('usage: raft-propose.js ADDRESS TLS_DIR PAYLOAD');
  propose(address, tlsDir, payload).then(
    (outcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

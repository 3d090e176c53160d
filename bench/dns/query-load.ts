/**
 * Runs inside a sandbox's namespace (`ip netns exec NS node query-load.js …`), so its queries
 * reach the resolver the way an application's do.
 * - `load SERVER NAME SECONDS CONCURRENCY`: closed-loop A queries, one UDP socket per worker;
 *   prints one JSON line {queries, failures, qps, p50_ms, p99_ms}.
 * - `probe SERVER`: for each name read on stdin, asks every millisecond until it has an A record;
 *   prints the milliseconds from the line's arrival to that answer.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { decode, encode, RECURSION_DESIRED } from 'dns-packet';
import { percentile, round } from '../stats';

const ATTEMPT_TIMEOUT_MS = 1000;

/** One query at a time on its own socket: resolves with the reply's answer count, or -1 on a timeout. */
function asker(server: string): { ask(name: string, timeoutMs: number): Promise<number>; close(): void } {
  const socket: Socket = createSocket('udp4');
  let nextId = 1;
  let pending: { id: number; done: (answers: number) => void } | undefined;
  socket.on('message', (message) => {
    const reply = decode(message);
    if (pending && reply.id === pending.id) pending.done((reply.answers ?? []).filter((answer) => answer.type === 'A').length);
  });
  return {
    ask(name, timeoutMs) {
      const id = (nextId = (nextId % 65535) + 1);
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish(-1), timeoutMs);
        const finish = (answers: number): void => {
          clearTimeout(timer);
          pending = undefined;
          resolve(answers);
        };
        pending = { id, done: finish };
        socket.send(encode({ id, type: 'query', flags: RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, server);
      });
    },
    close: () => socket.close(),
  };
}

async function load(server: string, name: string, seconds: number, concurrency: number): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    const client = asker(server);
    while (performance.now() < end) {
      const started = performance.now();
      const answers = await client.ask(name, ATTEMPT_TIMEOUT_MS);
      if (answers > 0) latencies.push(performance.now() - started);
      else failures++;
    }
    client.close();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const figures = {
    queries: latencies.length,
    failures,
    qps: round(latencies.length / elapsed, 0),
    p50_ms: round(percentile(latencies, 50), 3),
    p99_ms: round(percentile(latencies, 99), 3),
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

async function probe(server: string): Promise<void> {
  const client = asker(server);
  for await (const line of createInterface({ input: process.stdin })) {
    const name = line.trim();
    if (name === '') continue;
    const started = performance.now();
    while ((await client.ask(name, 50)) <= 0) await new Promise((resolve) => setTimeout(resolve, 1));
    process.stdout.write(`${round(performance.now() - started, 2)}\n`);
  }
  client.close();
}

const [mode, server = '', ...rest] = process.argv.slice(2);
if (mode === 'load') void load(server, rest[0] ?? '', Number(rest[1]), Number(rest[2]));
else if (mode === 'probe') void probe(server);
else {
  process.stderr.write('usage: query-load load SERVER NAME SECONDS CONCURRENCY | probe SERVER\n');
  process.exitCode = 2;
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `npm run bench -- NAME` runs bench/NAME: it prints a table, then one JSON line as its last line. */
async function main(): Promise<void> {
  const name = process.argv[2];
  const file = name ? join(__dirname, `${name}.js`) : '';
  if (!name || !/^[a-z-]+$/.test(name) || !existsSync(file)) {
    process.stderr.write(`usage: npm run bench -- NAME   (NAME: attach-latency, raft, fanout, dataplane, agent-restart, cli, lb, dns, gossip)\n`);
    process.exitCode = 2;
    return;
  }
  const bench = (await import(file)) as { run(args: string[]): Promise<void> };
  await bench.run(process.argv.slice(3));
}

void main();

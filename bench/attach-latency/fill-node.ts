/**
 * `node fill-node.js NODE PREFIX FROM TO`, run inside a lab host (TRELLIS_MANAGER and
 * TRELLIS_TLS_DIR set, as `lab exec` does): creates the sandboxes PREFIX<FROM>..PREFIX<TO-1> on
 * NODE through the Control API, many in flight, and prints the namespace names the manager gave
 * them as a JSON array. One process and one channel instead of a CLI process per sandbox: a
 * thousand CLI starts would cost minutes of CPU before the bench measured anything.
 */
import { Control } from '../../cli/control-client';
import { NETNS_RUN_DIR } from '../../agent/kernel/names';
import { readTlsDir } from '../../proto/runtime/tls';

const IN_FLIGHT = 32;

async function main(): Promise<void> {
  const [node = '', prefix = '', from = '', to = ''] = process.argv.slice(2);
  const tlsDir = process.env.TRELLIS_TLS_DIR ?? '';
  const admin = readTlsDir(tlsDir, 'admin');
  if (!admin) throw new Error(`no admin certificate in TRELLIS_TLS_DIR (${tlsDir})`);
  const control = new Control((process.env.TRELLIS_MANAGER ?? '').split(','), admin);
  const names = Array.from({ length: Number(to) - Number(from) }, (_, index) => `${prefix}${Number(from) + index}`);
  const namespaces: string[] = [];
  try {
    const next = names.entries();
    const worker = async (): Promise<void> => {
      for (const [index, name] of next) {
        const created = await control.call((c) => c.createSandbox, { name, node, netns: '', networkMode: '', netnsFrom: '' });
        namespaces[index] = created.netns.replace(`${NETNS_RUN_DIR}/`, '');
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    control.close();
  }
  process.stdout.write(`${JSON.stringify(namespaces)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fill-node: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

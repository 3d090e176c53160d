import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/*
 * The user-mode-linux test lanes (scripts/uml/README.md): a lab program bundled with esbuild runs
 * inside one guest boot, does every check and prints a report as its last line; the jest file
 * asserts on the report. Both halves of that handshake live here.
 */

const ROOT = join(__dirname, '..');
const REPORT_MARK = '@@report ';

/** Whether this process may boot user-mode-linux (the guest's root is the host's filesystem). */
export const CAN_BOOT_UML = process.getuid?.() === 0;

/** Bundles `entry`, runs it in one guest and returns the report it printed; throws with the output if there is none. */
export async function runLabInUml(entry: string, lane: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-uml-lane-'));
  try {
    const bundle = join(dir, 'lab.js');
    buildSync({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', outfile: bundle, logLevel: 'error' });
    const run = await runInUml(bundle);
    const line = run.stdout.split('\n').find((text) => text.startsWith(REPORT_MARK));
    if (run.status !== 0 || line === undefined) {
      throw new Error(`the ${lane} lane failed in user-mode-linux (exit ${run.status}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
    }
    process.stderr.write(`${run.stderr.split('\n').filter((text) => text.startsWith('run-in-uml:')).join('\n')}\n`);
    return JSON.parse(line.slice(REPORT_MARK.length)) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runInUml(bundle: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts/uml/run-in-uml.sh'), '--timeout', '600', '--timing', '--', process.execPath, bundle], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The guest's half: runs `main` (only inside user-mode-linux) and prints its report for runLabInUml. */
export function reportFromGuest(name: string, main: () => Promise<unknown>): void {
  if (process.env.RUN_IN_UML !== '1') {
    console.error(`${name}: runs inside user-mode-linux only (scripts/uml/run-in-uml.sh -- node BUNDLE)`);
    process.exit(2);
  }
  main().then(
    (report) => {
      console.log(`${REPORT_MARK}${JSON.stringify(report)}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

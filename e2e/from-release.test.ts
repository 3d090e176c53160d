/**
 * The artifact in the lab: managers, agents and the CLI of `lab exec` all run the release
 * artifact built from this tree, each daemon on a config file deploy/'s templates wrote (`lab up
 * --from-release`), and the walking-skeleton, data-plane and services scenarios pass on it. The scenarios
 * are their own files, run here with $TRELLIS_LAB_FROM_RELEASE set; the checks of theirs that
 * only repeat the daemons' behaviour at length are left to their run on the build (itOnTheBuild).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildRelease, type Release } from '../packaging/release';
import { sha256Of } from '../proto/runtime/build-info';
import { findRepoRoot } from './lab/context';
import { configTemplate } from './lab/plan';
import { eventually, lab, LAB_FROM_RELEASE_ENV, labDown, labUp, trellisJson, type LabState } from './support/lab-driver';

const repoRoot = findRepoRoot(__dirname);
const buildDir = mkdtempSync(join(tmpdir(), 'trellis-from-release-'));
let release: Release;
// Read by every labUp of this file, the scenarios' included; the artifact is there once beforeAll has built it.
process.env[LAB_FROM_RELEASE_ENV] = join(buildDir, 'trellis');

beforeAll(async () => {
  release = await buildRelease(repoRoot, buildDir);
}, 180_000);
afterAll(() => {
  delete process.env[LAB_FROM_RELEASE_ENV];
  rmSync(buildDir, { recursive: true, force: true });
});

interface Versions {
  client: { commit: string; checksum: string };
  manager: { commit: string; checksum: string };
}

describe('a lab from the release artifact', () => {
  let state: LabState;
  const status = () => JSON.parse(lab(['status']).stdout) as LabState;

  beforeAll(() => {
    state = labUp(1, 1);
  });
  afterAll(() => labDown());

  it("runs each daemon from the lab's copy of the artifact with a config file written from deploy/config, not with flags", () => {
    expect(state.release?.sha256).toBe(release.sha256);
    const copy = state.release?.artifact ?? '';
    expect(sha256Of(copy)).toBe(release.sha256);
    for (const host of status().hosts) {
      expect(host.pid).not.toBeNull();
      expect(host.command).toEqual([process.execPath, copy, host.role, '--config', host.config?.file]);
      const text = readFileSync(host.config?.file ?? '', 'utf8');
      // The template's own header, then its keys with the lab's values.
      expect(text.split('\n')[0]).toBe(readFileSync(configTemplate(repoRoot, host.role), 'utf8').split('\n')[0]);
      expect(parse(text)).toEqual(expect.objectContaining(Object.fromEntries(host.config?.settings ?? [])));
    }
  });

  it("answers the lab's trellis from the artifact, the CLI and the manager alike (a checkout has no checksum)", () => {
    const versions = trellisJson<Versions>('a1', ['version', '--format', 'json']);
    expect(versions.client.checksum).toBe(`sha256:${release.sha256}`);
    expect(versions.manager.checksum).toBe(`sha256:${release.sha256}`);
  });

  it('restarts a stopped host with the same artifact and config file', async () => {
    const before = status().hosts.find((h) => h.name === 'a1')?.command;
    lab(['stop', 'a1']);
    lab(['start', 'a1']);
    expect(status().hosts.find((h) => h.name === 'a1')?.command).toEqual(before);
    await eventually(
      () => trellisJson<Array<{ name: string; status: string }>>('m1', ['node', 'ls', '--format', 'json']).some((n) => n.name === 'a1' && n.status === 'NODE_STATUS_READY'),
      'a1 back in session',
    );
  });
});

// The scenarios, defined again here: their labs come up from the artifact.
require('./walking-skeleton.test');
require('./data-plane.test');
// Service balancing: the agent reaches each sandbox through koffi's native module the artifact carries.
require('./services.test');

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_TAG_FILE, ownerTag } from './owner-tag';

describe("the agent's owner tag", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-owner-tag-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the first advertise address, and stays it when the node is restarted with another', () => {
    expect(ownerTag(dir, '198.18.0.11')).toBe('198.18.0.11');
    expect(ownerTag(dir, '198.18.0.111')).toBe('198.18.0.11');
    expect(readFileSync(join(dir, OWNER_TAG_FILE), 'utf8')).toBe('198.18.0.11\n');
  });
});

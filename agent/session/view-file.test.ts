import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { loadView, movedTo, saveView, VIEW_FILE } from './view-file';

const own = EndpointView.fromPartial({ id: 'e1', networkId: 'n1', nodeId: 'node-a', vtep: '198.18.0.11', ip: '10.9.0.2', mac: '02:42:0a:09:00:02' });
const remote = EndpointView.fromPartial({ id: 'e2', networkId: 'n1', nodeId: 'node-b', vtep: '198.18.0.12', ip: '10.9.0.3', mac: '02:42:0a:09:00:03' });
const view = NodeView.fromPartial({ revision: 42, nodeId: 'node-a', nodeName: 'a', advertiseAddr: '198.18.0.11', endpoints: [own, remote], members: [{ networkId: 'n1', nodeId: 'node-b', publicKey: 'ab'.repeat(32), vtep: '198.18.0.12' }] });

describe('the saved view of a gossiping agent', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-view-file-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('comes back as it was saved, readable by its owner only', () => {
    saveView(dir, { view, readyEndpointIds: ['e2', 'e1'] });
    expect(statSync(join(dir, VIEW_FILE)).mode & 0o777).toBe(0o600);
    expect(loadView(dir, () => undefined)).toEqual({ view, readyEndpointIds: ['e1', 'e2'] });
  });

  it('is absent quietly, and unreadable with a reason and no view', () => {
    const problems: string[] = [];
    expect(loadView(dir, (message) => problems.push(message))).toBeUndefined();
    expect(problems).toEqual([]);
    writeFileSync(join(dir, VIEW_FILE), '{"view": 3');
    expect(loadView(dir, (message) => problems.push(message))).toBeUndefined();
    expect(problems).toEqual([expect.stringContaining('is not a saved view')]);
  });

  it('moves the node’s own endpoints to a new advertise address, and no one else’s', () => {
    const moved = movedTo(view, '198.18.0.111');
    expect(moved.advertiseAddr).toBe('198.18.0.111');
    expect(moved.endpoints.map((endpoint) => `${endpoint.id}@${endpoint.vtep}`)).toEqual(['e1@198.18.0.111', 'e2@198.18.0.12']);
    expect(movedTo(view, '198.18.0.11')).toBe(view);
  });
});

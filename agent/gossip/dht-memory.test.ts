import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DHT_NODES_FILE, rememberDhtNodes, rememberedDhtNodes, uniqueAddresses } from './dht-memory';
import { scratchDir } from './test-swarm';

describe('remembered DHT nodes', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let dir: string;
  beforeEach(() => {
    scratch = scratchDir();
    dir = scratch.path;
  });
  afterEach(() => scratch.remove());

  it('come back after a restart, in order, readable by the owner only', () => {
    expect(rememberedDhtNodes(dir)).toEqual([]);
    rememberDhtNodes(dir, [{ host: '198.18.0.21', port: 4791 }, { host: '198.18.0.22', port: 4791 }]);
    expect(rememberedDhtNodes(dir)).toEqual([{ host: '198.18.0.21', port: 4791 }, { host: '198.18.0.22', port: 4791 }]);
    expect(statSync(join(dir, DHT_NODES_FILE)).mode & 0o777).toBe(0o600);
  });

  it('are nothing, not an error, when the file is damaged; entries that are no address are skipped', () => {
    writeFileSync(join(dir, DHT_NODES_FILE), '{not json');
    expect(rememberedDhtNodes(dir)).toEqual([]);
    writeFileSync(join(dir, DHT_NODES_FILE), JSON.stringify([{ host: '198.18.0.21', port: 4791 }, { host: 7 }, { host: '198.18.0.22', port: 70000 }, 'x']));
    expect(rememberedDhtNodes(dir)).toEqual([{ host: '198.18.0.21', port: 4791 }]);
  });

  it('merge with the managers without duplicates, managers first', () => {
    const managers = [{ host: '198.18.0.11', port: 4790 }];
    expect(uniqueAddresses(managers, [{ host: '198.18.0.21', port: 4791 }, { host: '198.18.0.11', port: 4790 }])).toEqual([
      { host: '198.18.0.11', port: 4790 },
      { host: '198.18.0.21', port: 4791 },
    ]);
  });
});

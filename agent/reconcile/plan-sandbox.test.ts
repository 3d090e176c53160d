import { link, UNDERLAY } from './plan-fixtures';
import { isHostNamespace } from './plan-sandbox';

const lo = link('lo', { ifindex: 1, mac: '00:00:00:00:00:00' });
const tun = link('tun0', { ifindex: 3, mac: '' });
const hostLinks = [lo, UNDERLAY, tun];

describe("recognising the host's namespace under a sandbox's name", () => {
  test('it holds one of the host links, by name, ifindex and MAC', () => {
    expect(isHostNamespace({ netns: 'trsb-host', links: hostLinks, defaultRoute: undefined }, hostLinks)).toBe(true);
  });

  test('another namespace does not, even with links of the same names and indexes: MACs differ, and a device without one proves nothing', () => {
    const elsewhere = [lo, { ...UNDERLAY, mac: '02:00:00:00:00:99' }, tun];
    expect(isHostNamespace({ netns: 'trsb-other', links: elsewhere, defaultRoute: undefined }, hostLinks)).toBe(false);
    expect(isHostNamespace({ netns: 'trsb-other', links: [lo, tun], defaultRoute: undefined }, hostLinks)).toBe(false);
  });
});

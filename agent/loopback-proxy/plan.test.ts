import { planProxy } from './plan';

const web = { protocol: 'tcp' as const, hostPort: 8080, address: '172.29.0.2', port: 80 };
const dns = { protocol: 'udp' as const, hostPort: 8080, address: '172.29.0.3', port: 53 };

describe('loopback proxy plan', () => {
  test('opens a listener per protocol and host port; TCP and UDP on one port are two', () => {
    expect(planProxy(new Map(), [web, dns])).toEqual({ open: [web, dns], retarget: [], close: [] });
  });

  test('keeps what matches, points a moved port at its new target, closes what is no longer published', () => {
    const current = new Map([['tcp 8080', '172.29.0.2:80'], ['udp 8080', '172.29.0.9:53'], ['tcp 9090', '172.29.0.4:90']]);
    expect(planProxy(current, [web, dns])).toEqual({ open: [], retarget: [dns], close: ['tcp 9090'] });
    expect(planProxy(new Map([['tcp 8080', '172.29.0.2:80']]), [web])).toEqual({ open: [], retarget: [], close: [] });
  });

  test('the first of two published ports on one key wins', () => {
    expect(planProxy(new Map(), [web, { ...web, address: '172.29.0.7' }]).open).toEqual([web]);
  });
});

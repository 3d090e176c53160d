import pino from 'pino';
import { sampleView, sandbox } from '../reconcile/test-fixtures';
import type { Asker } from './model';
import { DnsServer } from './server';

/** What the fake factory was asked to do, in order: "open PATH as NETNS", "close NETNS". */
type Event = string;

function harness() {
  const events: Event[] = [];
  const logs: Array<{ level: number; msg: string; netns?: string; problem?: string }> = [];
  const identities = new Map<string, string>();
  const refusing = new Map<string, string>();
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const open = (path: string, asker: Asker) => {
    const refusal = refusing.get(path);
    if (refusal !== undefined) throw new Error(refusal);
    events.push(`open ${path} as ${asker.netnsName}`);
    return { close: () => events.push(`close ${asker.netnsName}`) };
  };
  const server = new DnsServer(logger, open, (path) => identities.get(path));
  return { server, events, logs, identities, refusing };
}

const web = sandbox;
const adoptedByName = { id: 's2', name: 'cni', netnsName: 'trsb-cni', networkMode: '', sharesNetns: false, netnsPath: '/run/netns/cni-1234' };
const adoptedByProcess = { id: 's3', name: 'proc', netnsName: 'trsb-proc', networkMode: '', sharesNetns: false, netnsPath: '/proc/4242/ns/net' };
const misplaced = { id: 's4', name: 'odd', netnsName: 'trsb-odd', networkMode: '', sharesNetns: false, netnsPath: '/somewhere/else' };

describe('DNS server: sockets in every sandbox namespace', () => {
  it('serves a shared namespace once, and neither the host namespace nor a "none" sandbox', () => {
    const { server, events, identities } = harness();
    identities.set('/run/netns/trsb-web', 'ns:web');
    identities.set('/run/netns/trsb-host', 'ns:host');
    identities.set('/run/netns/trsb-none', 'ns:none');
    const sidecar = { ...web, id: 's0', name: 'sidecar', sharesNetns: true };
    const onHost = { ...web, id: 's5', netnsName: 'trsb-host', networkMode: 'host' };
    const none = { ...web, id: 's6', netnsName: 'trsb-none', networkMode: 'none' };

    expect(server.sync(sampleView({ sandboxes: [sidecar, { ...web, sharesNetns: true }, onHost, none] }))).toEqual({ serving: 1, failing: 0 });
    expect(events).toEqual(['open /run/netns/trsb-web as trsb-web']);
  });

  it('serves each sandbox once, in the namespace it lives in, named by the view, and closes those that left', () => {
    const { server, events, identities } = harness();
    for (const path of ['/run/netns/trsb-web', '/run/netns/cni-1234', '/run/netns/trsb-proc']) identities.set(path, `ns:${path}`);
    const view = sampleView({ sandboxes: [web, adoptedByName, adoptedByProcess, misplaced] });

    expect(server.sync(view)).toEqual({ serving: 3, failing: 0 });
    expect(events.splice(0)).toEqual([
      'open /run/netns/trsb-web as trsb-web',
      'open /run/netns/cni-1234 as trsb-cni',
      'open /run/netns/trsb-proc as trsb-proc',
    ]);
    expect(server.sync(view)).toEqual({ serving: 3, failing: 0 });
    expect(events).toEqual([]);

    expect(server.sync(sampleView({ sandboxes: [adoptedByProcess] }))).toEqual({ serving: 1, failing: 0 });
    expect(events.splice(0)).toEqual(['close trsb-web', 'close trsb-cni']);
    server.close();
    expect(events).toEqual(['close trsb-proc']);
  });

  it('serves a namespace made again under the same name anew, instead of holding the old one alive', () => {
    const { server, events, identities } = harness();
    identities.set('/run/netns/trsb-web', 'ns:1');
    server.sync(sampleView());
    identities.set('/run/netns/trsb-web', 'ns:2');
    server.sync(sampleView());
    expect(events).toEqual(['open /run/netns/trsb-web as trsb-web', 'close trsb-web', 'open /run/netns/trsb-web as trsb-web']);
  });

  it('retries a namespace it cannot serve on every sync, logging each distinct problem once, and says when it serves again', () => {
    const { server, events, logs, identities, refusing } = harness();
    const path = '/run/netns/trsb-web';
    expect(server.sync(sampleView())).toEqual({ serving: 0, failing: 1 });
    identities.set(path, 'ns:1');
    refusing.set(path, 'cannot bind udp 127.0.0.11:53: errno 99');
    for (let pass = 0; pass < 3; pass++) expect(server.sync(sampleView())).toEqual({ serving: 0, failing: 1 });
    refusing.delete(path);
    expect(server.sync(sampleView())).toEqual({ serving: 1, failing: 0 });

    expect(events).toEqual([`open ${path} as trsb-web`]);
    expect(logs.map(({ msg, problem }) => [msg, problem])).toEqual([
      ['cannot serve the DNS resolver in the sandbox; retrying on every pass', `the namespace ${path} does not exist (yet)`],
      ['cannot serve the DNS resolver in the sandbox; retrying on every pass', 'cannot bind udp 127.0.0.11:53: errno 99: 127.0.0.11 is there only while lo is up'],
      ['DNS resolver serving again in the sandbox', undefined],
    ]);
  });
});

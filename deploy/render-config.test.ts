import { join } from 'node:path';
import { parse } from 'yaml';
import { DEPLOY_DIR, runScript } from './throwaway-root';

const RENDER = join(DEPLOY_DIR, 'render-config.sh');
const render = (role: string, ...pairs: string[]) => runScript(RENDER, [join(DEPLOY_DIR, 'config', `${role}.yaml`), ...pairs]);

describe('deploy/render-config.sh', () => {
  test('fills placeholders, comments out the ones not given, and replaces a fixed value when given one', () => {
    const run = render('agent', 'node=w1', 'advertise-addr=192.168.56.21', 'state-dir=/srv/lab/a1/data', 'resync-interval=2s');
    expect(run.status).toBe(0);
    expect(parse(run.stdout)).toEqual({ node: 'w1', 'advertise-addr': '192.168.56.21', 'state-dir': '/srv/lab/a1/data', 'resync-interval': '2s', 'log-level': 'info' });
    expect(run.stdout).toContain('# manager: <manager>\n');
    // Without it, the template's own value stands.
    expect(parse(render('agent').stdout)).toEqual({ 'state-dir': '/var/lib/trellis/agent', 'log-level': 'info' });
  });

  test('refuses a key the template does not have, naming the keys it has', () => {
    const run = render('manager', 'listen=10.0.0.1:4240', 'lsten=x');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/has no setting lsten \(its keys: listen data-dir join join-token-file admin-dir metrics-listen log-level \)/);
    expect(run.stdout).toBe('');
  });
});

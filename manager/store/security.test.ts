import { newKey, seal } from '../secrets/sealed';
import type { ClusterSecurityRecord } from './state';
import { Store } from './store';

const key = newKey();
const sealed = (text: string) => seal(key, text, 'test');
const record: ClusterSecurityRecord = {
  clusterId: 'c1',
  caCertPem: 'CERT',
  caKeySealed: sealed('ca key'),
  joinSecretsSealed: { worker: sealed('w'), manager: sealed('m') },
  certValiditySeconds: 60,
};

function refusal(store: Store, command: Parameters<Store['apply']>[0]) {
  const before = JSON.stringify(store.snapshot());
  const result = store.apply(command);
  expect(JSON.stringify(store.snapshot())).toBe(before);
  if (result.ok) throw new Error(`${command.type} was accepted`);
  return { code: result.error.code, field: result.error.field, message: result.error.message };
}

describe('the security record in the store holds only sealed secrets', () => {
  it('refuses a plaintext CA key or join secret, naming the field, and changes nothing', () => {
    const store = new Store();
    const plaintext = { ...record, caKeySealed: '-----BEGIN PRIVATE KEY-----' };
    expect(refusal(store, { type: 'initSecurity', security: plaintext })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'security.caKeySealed' });
    const legacy = { clusterId: 'c1', caCertPem: 'CERT', caKeyPem: 'PEM', joinSecrets: { worker: 'w', manager: 'm' }, certValiditySeconds: 60 };
    expect(refusal(store, { type: 'initSecurity', security: legacy as unknown as ClusterSecurityRecord }).code).toBe('INVALID_ARGUMENT');
    expect(store.apply({ type: 'initSecurity', security: record }).ok).toBe(true);
    expect(refusal(store, { type: 'rotateJoinSecret', role: 'worker', sealedSecret: 'abcdefghijklmnopqrstuvwxyz' })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'sealedSecret' });
    expect(refusal(store, { type: 'rotateJoinSecret', role: 'admin' as 'worker', sealedSecret: sealed('x') })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'role' });
    expect(refusal(store, { type: 'setAutolock', unlockKeySealed: 'TRLSKEY-1-PLAIN' })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'unlockKeySealed' });
  });

  it('turns autolock on and off with a sealed unlock key', () => {
    const store = new Store();
    expect(refusal(store, { type: 'setAutolock' }).code).toBe('FAILED_PRECONDITION');
    store.apply({ type: 'initSecurity', security: record });
    const unlockKeySealed = sealed('TRLSKEY-1-x');
    expect(store.apply({ type: 'setAutolock', unlockKeySealed }).ok).toBe(true);
    expect(store.security()?.unlockKeySealed).toBe(unlockKeySealed);
    expect(store.apply({ type: 'setAutolock' }).ok).toBe(true);
    expect(store.security()).toEqual(record);
  });
});

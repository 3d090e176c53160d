import { MAX_ISSUED_CERTIFICATES } from './certificates';
import type { IssuedCertificateRecord } from './state';
import { Store } from './store';
import { must } from './test-fixtures';

const issued = (nodeId: string, serial: string, issuedAt: number, notAfter = issuedAt + 1_000_000): IssuedCertificateRecord => ({
  nodeId, role: 'trellis-worker', serial, issuedAt, notAfter, requestedBy: 'worker join token',
});

describe('the record of issued certificates', () => {
  it("keeps each node's latest certificate, across a snapshot", () => {
    const store = new Store();
    must(store, { type: 'recordCertificate', certificate: issued('n1', 'aa', 1_000) });
    must(store, { type: 'recordCertificate', certificate: issued('n2', 'bb', 2_000) });
    must(store, { type: 'recordCertificate', certificate: issued('n1', 'cc', 3_000) });
    const restored = Store.restore(JSON.parse(JSON.stringify(store.snapshot())));
    expect(restored.issuedCertificate('n1')?.serial).toBe('cc');
    expect(restored.snapshot().issuedCertificates?.map((record) => record.serial)).toEqual(['bb', 'cc']);
  });

  it('drops the certificates that expired before the one being recorded was issued', () => {
    const store = new Store();
    must(store, { type: 'recordCertificate', certificate: issued('n1', 'aa', 1_000, 5_000) });
    must(store, { type: 'recordCertificate', certificate: issued('n2', 'bb', 6_000) });
    expect(store.issuedCertificate('n1')).toBeUndefined();
  });

  it(`holds at most ${MAX_ISSUED_CERTIFICATES}, dropping the earliest issued`, () => {
    const store = new Store();
    for (let i = 0; i <= MAX_ISSUED_CERTIFICATES; i += 1) must(store, { type: 'recordCertificate', certificate: issued(`n${i}`, 'ab', 1_000 + i) });
    expect(store.snapshot().issuedCertificates).toHaveLength(MAX_ISSUED_CERTIFICATES);
    expect(store.issuedCertificate('n0')).toBeUndefined();
    expect(store.issuedCertificate('n1')).toBeDefined();
  });

  it.each([
    [{ ...issued('n1', 'aa', 1_000), serial: 'xyz' }, 'certificate.serial'],
    [{ ...issued('n1', 'aa', 1_000), nodeId: '' }, 'certificate.node_id'],
    [{ ...issued('n1', 'aa', 1_000), notAfter: 10 }, 'certificate.not_after'],
    [{ ...issued('n1', 'aa', 1_000), requestedBy: '' }, 'certificate.requested_by'],
  ])('refuses %j, naming %s, and changes nothing', (certificate, field) => {
    const store = new Store();
    expect(store.apply({ type: 'recordCertificate', certificate })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field } });
    expect(store.revision).toBe(0);
  });
});

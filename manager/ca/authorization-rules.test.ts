import { status } from '@grpc/grpc-js';
import { decideAccess, type AuthorizationRules } from './authorization-rules';
import type { NodeIdentity, NodeRole } from '../../proto/runtime/tls/identity';

const rules: AuthorizationRules = {
  '/grpc.health.v1.Health/': 'anyone',
  '/grpc.reflection.': ['trellis-admin'],
  '/trellis.v1.Control/': ['trellis-admin'],
  '/trellis.v1.Control/Join': 'anyone',
  '/trellis.v1.Control/GetNode': ['trellis-admin', 'trellis-worker'],
};
const as = (role: NodeRole): NodeIdentity => ({ nodeId: 'n1', role, clusterId: 'c1' });

describe('authorization rules', () => {
  it('lets anyone through an open path, certificate or not', () => {
    expect(decideAccess(rules, '/grpc.health.v1.Health/Check', undefined)).toBeUndefined();
    expect(decideAccess(rules, '/trellis.v1.Control/Join', undefined)).toBeUndefined();
  });

  it('asks for a certificate on a protected path', () => {
    expect(decideAccess(rules, '/trellis.v1.Control/CreateNetwork', undefined)).toEqual({
      code: status.UNAUTHENTICATED,
      details: "this call needs a client certificate issued by the cluster CA (the CLI's --tls-dir; an agent's --join-token)",
    });
  });

  it('names the role held and the roles allowed when they do not fit', () => {
    expect(decideAccess(rules, '/trellis.v1.Control/CreateNetwork', as('trellis-worker'))).toEqual({
      code: status.PERMISSION_DENIED,
      details: '/trellis.v1.Control/CreateNetwork is open to trellis-admin; this certificate\'s role is trellis-worker',
    });
    expect(decideAccess(rules, '/trellis.v1.Control/CreateNetwork', as('trellis-admin'))).toBeUndefined();
  });

  it('lets an exact method entry win over its service prefix', () => {
    expect(decideAccess(rules, '/trellis.v1.Control/GetNode', as('trellis-worker'))).toBeUndefined();
    expect(decideAccess(rules, '/trellis.v1.Control/GetNodes', as('trellis-worker'))?.code).toBe(status.PERMISSION_DENIED);
  });

  it('matches a package prefix ending in a dot', () => {
    expect(decideAccess(rules, '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', as('trellis-admin'))).toBeUndefined();
  });

  it('refuses a path no rule covers, whoever asks', () => {
    expect(decideAccess(rules, '/trellis.v1.Raft/Append', as('trellis-admin'))).toEqual({
      code: status.PERMISSION_DENIED,
      details: 'no authorization rule covers /trellis.v1.Raft/Append',
    });
  });

  it('refuses a revoked certificate on every path that needs one, naming the reason, and ignores it on an open path', () => {
    const revoked = (nodeId: string) => (nodeId === 'n1' ? { reason: 'removed by trellis node rm' } : undefined);
    expect(decideAccess(rules, '/trellis.v1.Control/GetNode', as('trellis-worker'), revoked)).toEqual({
      code: status.UNAUTHENTICATED,
      details: "this certificate's node n1 is revoked (removed by trellis node rm); a node joins again only with a join token and an empty state directory",
    });
    expect(decideAccess(rules, '/trellis.v1.Control/CreateNetwork', as('trellis-admin'), revoked)?.code).toBe(status.UNAUTHENTICATED);
    expect(decideAccess(rules, '/trellis.v1.Control/Join', as('trellis-worker'), revoked)).toBeUndefined();
    expect(decideAccess(rules, '/trellis.v1.Control/GetNode', { ...as('trellis-worker'), nodeId: 'n2' }, revoked)).toBeUndefined();
  });
});

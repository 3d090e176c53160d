import type { ControlServer, UnlockKey } from '../../proto/gen/trellis/v1/control';
import type { ClusterState } from '../cluster/cluster-state';
import type { ClusterKey } from '../secrets/cluster-key';
import { newUnlockKey } from '../secrets/unlock-key';
import type { ClusterSecurityRecord } from '../store';
import { fromStoreError, serviceError } from './status';
import { unary, type Outcome } from './unary';

const AUTOLOCK_OFF = 'autolock is off: no unlock key exists; turn it on with `trellis cluster update --autolock true`';

type AutolockCalls = Pick<ControlServer, 'updateCluster' | 'getUnlockKey' | 'rotateUnlockKey' | 'unlockManager'>;

/**
 * Autolock, like `docker swarm update --autolock`: the unlock key is made and sealed here, in the
 * proposer, and replicated sealed; every manager then rewraps its own key file (autolock-keeper).
 */
export function autolockService(state: ClusterState, clusterKey: ClusterKey): AutolockCalls {
  async function security(): Promise<Outcome<ClusterSecurityRecord>> {
    await state.readBarrier();
    return state.store.security() ?? serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA; it has nothing to lock');
  }
  /** Proposes a new unlock key (autolock on) or none (off); the key made, if any. */
  async function setUnlockKey(record: ClusterSecurityRecord, on: boolean): Promise<Outcome<string>> {
    const unlockKey = on ? newUnlockKey() : '';
    const result = await state.propose({ type: 'setAutolock', ...(on ? { unlockKeySealed: clusterKey.sealUnlockKey(record.clusterId, unlockKey) } : {}) });
    return result.ok ? unlockKey : fromStoreError(result.error);
  }
  return {
    updateCluster: unary(async (request) => {
      const record = await security();
      if (record instanceof Error) return record;
      const current = record.unlockKeySealed !== undefined;
      if (request.autolock === undefined || request.autolock === current) return { autolock: current, unlockKey: '' };
      const made = await setUnlockKey(record, request.autolock);
      return made instanceof Error ? made : { autolock: request.autolock, unlockKey: made };
    }),
    getUnlockKey: unary(async (): Promise<Outcome<UnlockKey>> => {
      const record = await security();
      if (record instanceof Error) return record;
      const unlockKey = clusterKey.unlockKey(record);
      return unlockKey === undefined ? serviceError('FAILED_PRECONDITION', '', AUTOLOCK_OFF) : { unlockKey };
    }),
    rotateUnlockKey: unary(async (): Promise<Outcome<UnlockKey>> => {
      const record = await security();
      if (record instanceof Error) return record;
      if (record.unlockKeySealed === undefined) return serviceError('FAILED_PRECONDITION', '', AUTOLOCK_OFF);
      const made = await setUnlockKey(record, true);
      return made instanceof Error ? made : { unlockKey: made };
    }),
    // A locked manager answers this call elsewhere (locked-server); one that serves is not locked.
    unlockManager: unary(() => ({ wasLocked: false })),
  };
}

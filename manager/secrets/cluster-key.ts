import type { ClusterSecurityRecord, JoinRole, RootRotationRecord } from '../store';
import { ClusterUnavailableError } from '../cluster/cluster-state';
import { openSealedText, seal } from './sealed';

/** The cluster's CA and join secrets in plaintext: only ever in a manager's memory. */
export interface ClusterSecrets {
  clusterId: string;
  caCertPem: string;
  caKeyPem: string;
  joinSecrets: Record<JoinRole, string>;
  certValiditySeconds: number;
  /** During a root rotation: the old root and the cross-signed new one (public, never sealed). */
  rotation?: RootRotationRecord;
}

/** What each sealed value is, bound into its seal: one cannot be passed off as another, nor one cluster's as another's. */
const purpose = {
  caKey: (clusterId: string) => `${clusterId}/ca-key`,
  joinSecret: (clusterId: string, role: JoinRole) => `${clusterId}/join-secret/${role}`,
  unlockKey: (clusterId: string) => `${clusterId}/unlock-key`,
};

function byRole(value: (role: JoinRole) => string): Record<JoinRole, string> {
  return { worker: value('worker'), manager: value('manager') };
}

/**
 * This manager's copy of the cluster's data key (see key-file.ts), the one thing that opens the
 * sealed secrets in the store. Unknown for a moment on a manager that is joining: then every
 * use answers UNAVAILABLE, which clients retry.
 */
export class ClusterKey {
  private key: Buffer | undefined;

  constructor(key?: Buffer) {
    this.key = key;
  }

  get known(): boolean {
    return this.key !== undefined;
  }

  set(key: Buffer): void {
    this.key = key;
  }

  /** The raw key, to hand to a joining manager. */
  bytes(): Buffer {
    if (!this.key) throw new ClusterUnavailableError('this manager is still joining: it has no copy of the cluster data key yet');
    return this.key;
  }

  sealSecrets(secrets: ClusterSecrets): ClusterSecurityRecord {
    return {
      clusterId: secrets.clusterId,
      caCertPem: secrets.caCertPem,
      caKeySealed: this.sealCaKey(secrets.clusterId, secrets.caKeyPem),
      joinSecretsSealed: byRole((role) => this.sealJoinSecret(secrets.clusterId, role, secrets.joinSecrets[role])),
      certValiditySeconds: secrets.certValiditySeconds,
      ...(secrets.rotation ? { rotation: secrets.rotation } : {}),
    };
  }

  openSecrets(record: ClusterSecurityRecord): ClusterSecrets {
    const key = this.bytes();
    return {
      clusterId: record.clusterId,
      caCertPem: record.caCertPem,
      caKeyPem: openSealedText(key, record.caKeySealed, purpose.caKey(record.clusterId)),
      joinSecrets: byRole((role) => openSealedText(key, record.joinSecretsSealed[role], purpose.joinSecret(record.clusterId, role))),
      certValiditySeconds: record.certValiditySeconds,
      ...(record.rotation ? { rotation: record.rotation } : {}),
    };
  }

  sealCaKey(clusterId: string, caKeyPem: string): string {
    return seal(this.bytes(), caKeyPem, purpose.caKey(clusterId));
  }

  sealJoinSecret(clusterId: string, role: JoinRole, secret: string): string {
    return seal(this.bytes(), secret, purpose.joinSecret(clusterId, role));
  }

  sealUnlockKey(clusterId: string, unlockKey: string): string {
    return seal(this.bytes(), unlockKey, purpose.unlockKey(clusterId));
  }

  /** The unlock key while autolock is on; undefined when it is off. */
  unlockKey(record: ClusterSecurityRecord): string | undefined {
    return record.unlockKeySealed === undefined ? undefined : openSealedText(this.bytes(), record.unlockKeySealed, purpose.unlockKey(record.clusterId));
  }
}

/**
 * A store written before secrets were sealed holds the CA key in plaintext (`caKeyPem`). Such a
 * cluster is refused, not re-encrypted: its key is in every manager's WAL segments and snapshots
 * and in every backup of them, so it must be taken as exposed, and sealing it now would hide that.
 */
export function holdsPlaintextSecrets(record: ClusterSecurityRecord | undefined): boolean {
  return record !== undefined && ('caKeyPem' in record || 'joinSecrets' in record);
}

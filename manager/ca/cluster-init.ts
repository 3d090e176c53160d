import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readOptionalText } from '../../proto/runtime/optional-file';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { createKeyAndCsr, formatJoinToken, newJoinSecret, writeTlsDir, type NodeIdentity } from '../../proto/runtime/tls';
import { memberId } from '../cluster/member-id';
import { initialStore } from '../cluster/recover';
import { newId } from '../ids';
import { ClusterKey, type ClusterSecrets } from '../secrets/cluster-key';
import { KEY_FILE, newDataKey, writeKeyFile } from '../secrets/key-file';
import type { AddressPoolRecord, ClusterSecurityRecord, IssuedCertificateRecord, JoinRole, Store } from '../store';
import { issuedRecord } from './issued-record';
import { ADMIN_CERT_VALIDITY_SECONDS, signNodeCertificate } from './ca-service';
import { createRootCa } from './root-ca';

/** Node certificates live 90 days (Swarm's default) and are renewed after 60. */
const DEFAULT_CERT_VALIDITY_SECONDS = 90 * 24 * 3600;
/** What the first manager starts the cluster from; removed once the cluster holds it. */
const BOOTSTRAP_FILE = 'cluster-init.json';
/** The node certificate of a manager, under its data directory. */
export const MANAGER_TLS_DIR = 'tls';

export interface ClusterInitOptions {
  dataDir: string;
  /** Where the CLI's admin certificate goes (ca.crt, admin.crt, admin.key). */
  adminDir: string;
  defaultAddressPools?: AddressPoolRecord[];
  certValiditySeconds?: number;
}

export interface ClusterInitResult {
  clusterId: string;
  tokens: Record<JoinRole, string>;
}

/** Holds the security record sealed, like the store: the data key is in data-key.json beside it. */
interface Bootstrap {
  security: ClusterSecurityRecord;
  /** The first manager's certificate and the CLI's; absent in files from before issuing was recorded. */
  issued?: IssuedCertificateRecord[];
  defaultAddressPools?: AddressPoolRecord[];
}

/**
 * The join token of `role`, as printed for users. It pins the root a joining node finds in
 * the chain a manager presents: during a root rotation that is the old root (the new one is
 * reached through its cross-signed copy), so tokens change when the rotation ends.
 */
export function joinToken(security: ClusterSecrets, role: JoinRole): string {
  return formatJoinToken(security.rotation?.previousCaCertPem ?? security.caCertPem, security.joinSecrets[role]);
}

async function issueTo(dir: string, name: string, security: ClusterSecrets, identity: NodeIdentity): Promise<IssuedCertificateRecord> {
  const { keyPem, csrPem } = await createKeyAndCsr();
  const issued = await signNodeCertificate(security, csrPem, identity);
  if (issued instanceof Error) throw issued;
  writeTlsDir(dir, name, { caPem: security.caCertPem, certPem: issued.certificatePem, keyPem });
  return issuedRecord(issued.certificatePem, 'cluster init', security.caCertPem);
}

/**
 * `trellis cluster init`: a new cluster's root CA and join secrets, its data key
 * (data-key.json), the first manager's certificate in its data directory, and an
 * admin certificate for the CLI. The manager started on that directory creates the
 * cluster from them.
 */
export async function initCluster(options: ClusterInitOptions): Promise<ClusterInitResult> {
  const tlsDir = join(options.dataDir, MANAGER_TLS_DIR);
  if (existsSync(join(options.dataDir, 'raft')) || existsSync(tlsDir) || existsSync(join(options.dataDir, KEY_FILE))) {
    throw new Error(`--data-dir: ${options.dataDir} already belongs to a cluster; give an empty directory`);
  }
  // Checked before anything is written, so bad pools leave nothing behind.
  initialStore(options.defaultAddressPools);
  const clusterId = newId();
  const ca = await createRootCa({ clusterId });
  const security: ClusterSecrets = {
    clusterId,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    joinSecrets: { worker: newJoinSecret(), manager: newJoinSecret() },
    certValiditySeconds: options.certValiditySeconds ?? DEFAULT_CERT_VALIDITY_SECONDS,
  };
  await mkdir(options.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dataKey = newDataKey();
  await writeKeyFile(options.dataDir, dataKey, { kind: 'none' });
  const issued = [
    await issueTo(tlsDir, 'node', security, { nodeId: await memberId(options.dataDir), role: 'trellis-manager', clusterId }),
    await issueTo(options.adminDir, 'admin', { ...security, certValiditySeconds: ADMIN_CERT_VALIDITY_SECONDS }, { nodeId: `admin-${newId().slice(0, 8)}`, role: 'trellis-admin', clusterId }),
  ];
  const sealed = new ClusterKey(dataKey).sealSecrets(security);
  const bootstrap: Bootstrap = { security: sealed, issued, ...(options.defaultAddressPools ? { defaultAddressPools: options.defaultAddressPools } : {}) };
  await writeFile(join(options.dataDir, BOOTSTRAP_FILE), JSON.stringify(bootstrap), { mode: PRIVATE_FILE_MODE });
  return { clusterId, tokens: { worker: joinToken(security, 'worker'), manager: joinToken(security, 'manager') } };
}

/** The store a new cluster starts from, as `initCluster` left it; undefined when the directory was not initialized. */
export async function bootstrapStore(dataDir: string): Promise<Store | undefined> {
  const text = await readOptionalText(join(dataDir, BOOTSTRAP_FILE));
  if (text === undefined) return undefined;
  const bootstrap = JSON.parse(text) as Bootstrap;
  const store = initialStore(bootstrap.defaultAddressPools);
  const secured = store.apply({ type: 'initSecurity', security: bootstrap.security });
  if (!secured.ok) throw new Error(secured.error.message);
  for (const certificate of bootstrap.issued ?? []) {
    const recorded = store.apply({ type: 'recordCertificate', certificate });
    if (!recorded.ok) throw new Error(recorded.error.message);
  }
  return store;
}

/** Once the cluster's log holds it, the bootstrap file has no reason to stay. */
export async function removeBootstrap(dataDir: string): Promise<void> {
  await rm(join(dataDir, BOOTSTRAP_FILE), { force: true });
}

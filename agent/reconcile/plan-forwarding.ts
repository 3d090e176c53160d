import {
  DesiredFdbEntry,
  DesiredNeighbour,
  FdbEntry,
  KernelAction,
  NeighbourEntry,
  Scope,
  bridgeAction,
  ipAction,
} from '../kernel';

/**
 * FDB and neighbour entries tell each VXLAN device where remote MACs live and what MAC answers
 * for a remote IP. Entries on devices that do not survive the pass are left out of `observed`
 * by the caller: they vanish with their device.
 */

function fdbKey(entry: DesiredFdbEntry): string {
  return `${entry.device} ${entry.mac} ${entry.dst}`;
}

export function planFdb(scope: Scope, desired: readonly DesiredFdbEntry[], observed: readonly FdbEntry[]): KernelAction[] {
  const wanted = new Map(desired.map((entry) => [fdbKey(entry), entry]));
  const present = new Map(observed.map((entry) => [fdbKey(entry), entry]));
  const deletes = observed
    .filter((entry) => !wanted.has(fdbKey(entry)))
    .map((entry) =>
      bridgeAction(scope, 'fdb', 'del', entry.mac, 'dev', entry.device, ...(entry.dst ? ['dst', entry.dst] : []), 'self'),
    );
  const writes = desired
    .filter((entry) => present.get(fdbKey(entry))?.permanent !== true)
    .map((entry) => bridgeAction(scope, 'fdb', 'replace', entry.mac, 'dev', entry.device, 'dst', entry.dst, 'self', 'permanent'));
  return [...deletes, ...writes];
}

function neighbourKey(entry: DesiredNeighbour | NeighbourEntry): string {
  return `${entry.device} ${entry.ip}`;
}

export function planNeighbours(
  scope: Scope,
  desired: readonly DesiredNeighbour[],
  observed: readonly NeighbourEntry[],
): KernelAction[] {
  const wanted = new Set(desired.map(neighbourKey));
  const present = new Map(observed.map((entry) => [neighbourKey(entry), entry]));
  const deletes = observed
    .filter((entry) => !wanted.has(neighbourKey(entry)))
    .map((entry) => ipAction(scope, 'neigh', 'del', entry.ip, 'dev', entry.device));
  const writes = desired
    .filter((entry) => {
      const current = present.get(neighbourKey(entry));
      return current === undefined || current.mac !== entry.mac || !current.permanent;
    })
    .map((entry) =>
      ipAction(scope, 'neigh', 'replace', entry.ip, 'lladdr', entry.mac, 'dev', entry.device, 'nud', 'permanent'),
    );
  return [...deletes, ...writes];
}

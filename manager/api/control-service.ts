import type { ServiceError } from '@grpc/grpc-js';
import type { ControlServer, JoinTokens, ListManagersResponse, ListNodesRequest, ListNodesResponse, RootCaStatus } from '../../proto/gen/trellis/v1/control';
import { newJoinSecret } from '../../proto/runtime/tls';
import { joinToken } from '../ca/cluster-init';
import { revocationNow } from '../ca/revoked';
import { newRootRotation, rootCaStatus } from '../ca/root-rotation';
import { callerIdentity } from '../ca/authorization';
import { ADMIN_CERT_VALIDITY_SECONDS, signAndRecord } from '../ca/ca-service';
import { certificateRequestProblem } from '../ca/issue';
import { Network, NodeStatus, Sandbox, Service, type Endpoint, type Node } from '../../proto/gen/trellis/v1/types';
import type { Encoder } from '../../proto/runtime/wire-size';
import type { ClusterState } from '../cluster/cluster-state';
import { newId } from '../ids';
import { buildInfo } from '../../proto/runtime/build-info';
import type { ClusterKey } from '../secrets/cluster-key';
import { refuseReserved, type AppliedValue, type Command, type Reservation } from '../store';
import { autolockService } from './autolock-service';
import { pageQuery, takePage, type Page, type PageRequest } from './pages';
import { endpointReadiness, readyBackendCount, serviceProgramming } from './readiness';
import { fromStoreError, notFound, serviceError } from './status';
import { unary, type Outcome } from './unary';

/** Nodes with their liveness, which only the leader's dispatcher knows. */
export interface NodeDirectory {
  list(): Promise<Node[]>;
  /** One page of ListNodes. */
  page(request: ListNodesRequest): Promise<Outcome<ListNodesResponse>>;
  /**
   * Per node name, the revision of the service `serviceId` its agent last reported as programmed
   * (ProgrammedReport.services); nodes that reported none are left out.
   */
  programmedService(serviceId: string): Promise<Map<string, number>>;
}

/** The managers themselves: Raft membership as this manager sees it. */
export interface ManagerDirectory {
  list(): Promise<ListManagersResponse>;
  /** Removes a manager through the log; '' means the one answering. */
  remove(id: string): Promise<void>;
  /** The managers' own ports, which no sandbox may publish (see manager-ports.ts). */
  reservedPorts(): Reservation[];
}

export function controlService(state: ClusterState, nodes: NodeDirectory, managers: ManagerDirectory, clusterKey: ClusterKey): ControlServer {
  async function propose<C extends Command>(command: C): Promise<Outcome<AppliedValue<C>>> {
    const result = await state.propose(command);
    return result.ok ? result.value : fromStoreError(result.error);
  }
  async function removal<C extends Command>(command: C): Promise<Outcome<Record<string, never>>> {
    const outcome = await propose(command);
    return outcome instanceof Error ? outcome : {};
  }
  /** Reads are linearizable: the local replica answers once it has applied everything committed before. */
  async function read<T>(query: () => Outcome<T>): Promise<Outcome<T>> {
    await state.readBarrier();
    return query();
  }
  /** The refusal of a port the managers use, in the store's words, or undefined. */
  function unlessReserved(field: string, ports: readonly { protocol: string; port: number }[]): ServiceError | undefined {
    const reserved = refuseReserved(field, ports, (port) => port, managers.reservedPorts());
    return reserved.ok ? undefined : fromStoreError(reserved.error);
  }
  /** One page of a list call, read from this replica like `read`. */
  async function listed<T extends { name: string }>(
    request: PageRequest,
    items: (after: string) => Iterable<T>,
    codec: Encoder<T>,
    kind: string,
  ): Promise<Outcome<Page<T>>> {
    const query = pageQuery(request);
    if (query instanceof Error) return query;
    return read(() => takePage(items(query.after), query, codec, kind));
  }
  const found = <T>(value: T | undefined, missing: () => ServiceError): Outcome<T> => value ?? missing();
  /** The node names hosting each network, each read from the store once per answer. */
  function networkHosts(): (networkId: string) => Set<string> {
    const hosts = new Map<string, Set<string>>();
    return (networkId) => {
      let names = hosts.get(networkId);
      if (!names) {
        names = state.store.networkHosts(networkId);
        hosts.set(networkId, names);
      }
      return names;
    };
  }
  /** An inspected object with its endpoints' `ready` filled in from the agents' reports (which the leader holds). */
  async function withReadiness<T>(outcome: Outcome<T>, endpointsOf: (value: T) => Endpoint[]): Promise<Outcome<T>> {
    if (outcome instanceof Error) return outcome;
    const endpoints = endpointsOf(outcome);
    if (endpoints.length === 0) return outcome;
    const isReady = endpointReadiness(await nodes.list(), networkHosts());
    for (const endpoint of endpoints) endpoint.ready = isReady(endpoint);
    return outcome;
  }
  /**
   * Services with what follows the agents' reports: their backends' `ready` and the count of ready
   * ones, and with `programming` (inspect, update) each hosting node's programming state.
   */
  async function withServiceState<T>(outcome: Outcome<T>, servicesOf: (value: T) => Service[], programming: boolean): Promise<Outcome<T>> {
    if (outcome instanceof Error) return outcome;
    const services = servicesOf(outcome);
    if (services.length === 0) return outcome;
    const listed = await nodes.list();
    const hostsOf = networkHosts();
    const isReady = endpointReadiness(listed, hostsOf);
    for (const service of services) {
      for (const backend of service.backends) backend.ready = isReady(backend);
      service.readyBackends = readyBackendCount(service);
      if (!programming) continue;
      const hosts = service.networks.flatMap((name) => {
        const network = state.store.network(name);
        return network ? [...hostsOf(network.id)] : [];
      });
      service.programming = serviceProgramming(service, listed, hosts, await nodes.programmedService(service.id));
    }
    return outcome;
  }
  /** A node as listed with its liveness (by exact id first, then name, like every reference). */
  async function nodeWithLiveness(reference: string): Promise<Node | undefined> {
    const listed = await nodes.list();
    return listed.find((node) => node.id === reference) ?? listed.find((node) => node.name === reference);
  }

  return {
    createNetwork: unary((request) =>
      propose({
        type: 'createNetwork',
        id: newId(),
        name: request.name,
        driver: request.driver,
        subnet: request.subnet,
        gateway: request.gateway,
        ipRange: request.ipRange,
        ipam: request.ipam,
        internal: request.internal,
        attachable: request.attachable,
        mtu: request.mtu,
        labels: request.labels,
        vni: request.vni,
        node: request.node,
        parent: request.parent,
        options: request.options,
      }),
    ),
    listNetworks: unary(async (request) =>
      paged(await listed(request, (after) => state.store.networksAfter(after), Network, 'network'), (networks) => ({ networks })),
    ),
    getNetwork: unary(async (request) =>
      withReadiness(
        await read(() => found(state.store.network(request.network), () => notFound('network', 'network', request.network))),
        (network) => network.endpoints,
      ),
    ),
    removeNetwork: unary((request) => removal({ type: 'removeNetwork', network: request.network })),

    createSandbox: unary((request) =>
      propose({
        type: 'createSandbox',
        id: newId(),
        name: request.name,
        node: request.node,
        netns: request.netns,
        networkMode: request.networkMode,
        netnsFrom: request.netnsFrom,
      }),
    ),
    listSandboxes: unary(async (request) =>
      paged(await listed(request, (after) => state.store.sandboxesAfter(after), Sandbox, 'sandbox'), (sandboxes) => ({ sandboxes })),
    ),
    getSandbox: unary(async (request) =>
      withReadiness(
        await read(() => found(state.store.sandbox(request.sandbox), () => notFound('sandbox', 'sandbox', request.sandbox))),
        (sandbox) => sandbox.endpoints,
      ),
    ),
    // Service backends among its endpoints drain first (the time is this manager's: apply has no clock).
    removeSandbox: unary((request) => removal({ type: 'removeSandbox', sandbox: request.sandbox, at: Date.now() })),

    connectNetwork: unary((request) =>
      unlessReserved(
        'published_ports',
        request.publishedPorts.map((port) => ({ protocol: port.protocol || 'tcp', port: port.hostPort })),
      ) ?? propose({
        type: 'connect',
        endpointId: newId(),
        network: request.network,
        sandbox: request.sandbox,
        ip: request.ip,
        aliases: request.aliases,
        mac: request.mac,
        hostname: request.hostname,
        extraHosts: request.extraHosts,
        dns: request.dns,
        service: request.service,
        publishedPorts: request.publishedPorts,
        publishAll: request.publishAll,
        exposedPorts: request.exposedPorts,
        // Only what publish_all needs: the managers' ports, which it must not choose (the store does not know them).
        ...(request.publishAll ? { avoidHostPorts: managers.reservedPorts().map(({ protocol, port }) => ({ protocol, port })) } : {}),
      }),
    ),
    disconnectNetwork: unary((request) =>
      removal({ type: 'disconnect', network: request.network, sandbox: request.sandbox, force: request.force, at: Date.now() }),
    ),

    listNodes: unary((request) => nodes.page(request)),
    getNode: unary(async (request) => {
      const node = await nodeWithLiveness(request.node);
      if (!node) return notFound('node', 'node', request.node);
      await state.readBarrier();
      const issued = state.store.issuedCertificate(node.id);
      if (!issued) return node;
      const certificateNotAfter = new Date(issued.notAfter).toISOString();
      return { ...node, certificateSerial: issued.serial, certificateNotAfter, certificateRequestedBy: issued.requestedBy };
    }),
    updateNode: unary(async (request) => {
      const outcome = await propose({
        type: 'updateNode',
        node: request.node,
        availability: request.availability,
        labelAdd: request.labelAdd,
        labelRm: request.labelRm,
      });
      return outcome instanceof Error ? outcome : ((await nodeWithLiveness(outcome.id)) ?? outcome);
    }),
    removeNode: unary(async (request) => {
      const node = await nodeWithLiveness(request.node);
      if (!node) return notFound('node', 'node', request.node);
      // Liveness is not replicated, so the store cannot check it: removing a node whose agent still runs would orphan its data plane.
      if (node.status === NodeStatus.NODE_STATUS_READY && !request.force) {
        return serviceError(
          'FAILED_PRECONDITION',
          'force',
          `force: node "${node.name}" is ready (its agent holds a session); stop its agent or pass --force`,
        );
      }
      // Revoked in the same entry: a removed node's certificate renews, registers and holds sessions no more.
      return removal({ type: 'removeNode', node: node.id, revoke: revocationNow(state.store, 'removed by trellis node rm') });
    }),

    createService: unary((request) =>
      unlessReserved(
        'ports',
        request.ports.map((port) => ({ protocol: port.protocol || 'tcp', port: port.publishedPort || port.targetPort })),
      ) ?? propose({
        type: 'createService',
        id: newId(),
        name: request.name,
        networks: request.networks,
        endpointMode: request.endpointMode,
        ports: request.ports,
        labels: request.labels,
        drainTimeoutSeconds: request.drainTimeoutSeconds,
        tcpIdleTimeoutSeconds: request.tcpIdleTimeoutSeconds,
        udpIdleTimeoutSeconds: request.udpIdleTimeoutSeconds,
      }),
    ),
    listServices: unary(async (request) =>
      paged(
        await withServiceState(await listed(request, (after) => state.store.servicesAfter(after), Service, 'service'), (page) => page.items, false),
        (services) => ({ services }),
      ),
    ),
    getService: unary(async (request) =>
      withServiceState(
        await read(() => found(state.store.service(request.service), () => notFound('service', 'service', request.service))),
        (service) => [service],
        true,
      ),
    ),
    removeService: unary((request) => removal({ type: 'removeService', service: request.service })),
    updateService: unary(async (request) =>
      withServiceState(
        unlessReserved('publish_add', request.publishAdd.map((port) => ({ protocol: port.protocol || 'tcp', port: port.publishedPort || port.targetPort }))) ??
          (await propose({
            type: 'updateService',
            service: request.service,
            publishAdd: request.publishAdd,
            publishRm: request.publishRm,
            drainTimeoutSeconds: request.drainTimeoutSeconds,
            tcpIdleTimeoutSeconds: request.tcpIdleTimeoutSeconds,
            udpIdleTimeoutSeconds: request.udpIdleTimeoutSeconds,
          })),
        (service) => [service],
        true,
      ),
    ),

    listManagers: unary(() => managers.list()),
    removeManager: unary(async (request) => {
      await managers.remove(request.id);
      return {};
    }),

    getJoinTokens: unary(() => read(() => joinTokens())),
    rotateJoinToken: unary(async (request) => {
      if (request.role !== 'worker' && request.role !== 'manager') {
        return serviceError('INVALID_ARGUMENT', 'role', `role: "${request.role}" is no join role; give worker or manager`);
      }
      const sealed = state.store.security();
      if (!sealed) return noJoinTokens();
      const outcome = await propose({ type: 'rotateJoinSecret', role: request.role, sealedSecret: clusterKey.sealJoinSecret(sealed.clusterId, request.role, newJoinSecret()) });
      return outcome instanceof Error ? outcome : joinTokens();
    }),

    getRootCa: unary(() => rootCa()),
    rotateRootCa: unary(async (request, call) => {
      // The admin's request is checked first: a refused call must not have started a rotation.
      const admin = callerIdentity(call);
      if (request.adminCsrPem) {
        if (admin?.role !== 'trellis-admin') {
          return serviceError('PERMISSION_DENIED', 'admin_csr_pem', 'admin_csr_pem: only an admin certificate is renewed with the rotation; call without it');
        }
        const problem = await certificateRequestProblem(request.adminCsrPem);
        if (problem) return serviceError('INVALID_ARGUMENT', 'admin_csr_pem', `admin_csr_pem: ${problem}`);
      }
      await state.readBarrier();
      const security = state.store.security();
      if (!security) return serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA; it has no root to rotate');
      const outcome = await propose(await newRootRotation(clusterKey.openSecrets(security), clusterKey));
      if (outcome instanceof Error) return outcome;
      const status = await rootCa();
      if (status instanceof Error || !request.adminCsrPem || !admin) return status;
      const rotated = state.store.security();
      if (!rotated) return status;
      const adminSecrets = { ...clusterKey.openSecrets(rotated), certValiditySeconds: ADMIN_CERT_VALIDITY_SECONDS };
      const adminCertificate = await signAndRecord(state, adminSecrets, request.adminCsrPem, admin, 'trellis cluster ca --rotate');
      return adminCertificate instanceof Error ? adminCertificate : { ...status, adminCertificate };
    }),

    ...autolockService(state, clusterKey),
    // This manager's own software, not the cluster's: during a rolling upgrade managers differ.
    getVersion: unary(() => buildInfo()),
  };

  async function rootCa(): Promise<Outcome<RootCaStatus>> {
    const managerIds = (await managers.list()).managers.map((manager) => manager.id);
    await state.readBarrier();
    const security = state.store.security();
    if (!security) return serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA');
    return rootCaStatus(state.store, security, managerIds);
  }

  function noJoinTokens(): ServiceError {
    return serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA; it has no join tokens');
  }

  function joinTokens(): Outcome<JoinTokens> {
    const sealed = state.store.security();
    if (!sealed) return noJoinTokens();
    const security = clusterKey.openSecrets(sealed);
    return { worker: joinToken(security, 'worker'), manager: joinToken(security, 'manager') };
  }
}

/** A page as a List response: its objects under the response's own field name, and the token. */
export function paged<T, R>(page: Outcome<Page<T>>, response: (items: T[]) => R): Outcome<R & { nextPageToken: string }> {
  return page instanceof Error ? page : { ...response(page.items), nextPageToken: page.nextPageToken };
}

/**
 * Agents and managers agree on liveness timing: an agent heartbeats every
 * second on its session, and the leader marks its node down after three missed
 * beats (Swarm takes 10.5 s on the same kind of machine).
 */
export const heartbeatIntervalMs = 1000;
export const nodeDownAfterMs = 3 * heartbeatIntervalMs;

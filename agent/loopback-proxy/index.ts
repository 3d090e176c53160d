export { namespacePlace } from './place';
export type { SocketPlace } from './place';
export { DEFAULT_PROXY_LIMITS, LoopbackProxy } from './proxy';
export type { ProxyLimits, ProxyObserver, ProxyStatus } from './proxy';

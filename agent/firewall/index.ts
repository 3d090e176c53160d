export { isMissingTableError, listTableArgv, normalizeListing } from './listing';
export type { DesiredFirewall, LocalBridgeRules, PublishedPort } from './model';
export { renderTable } from './render';
export { deleteScript, replaceScript } from './scripts';

import { MAX_INTERFACE_NAME_LENGTH } from '../kernel';

/**
 * Whatever ends up in a batch line must be one token iproute2 reads back as we meant it, so
 * every string from the view is checked before it can become part of a command.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function isMac(text: string): boolean {
  return MAC.test(text);
}

export function isInterfaceName(text: string): boolean {
  return text.length <= MAX_INTERFACE_NAME_LENGTH && NAME.test(text) && text !== '.' && text !== '..';
}

/** Names under /run/netns and owner tags. */
export function isPlainName(text: string): boolean {
  return NAME.test(text) && text !== '.' && text !== '..';
}

export function isVni(vni: number): boolean {
  return Number.isInteger(vni) && vni >= 1 && vni < 2 ** 24;
}

export function isPrefixLength(length: number): boolean {
  return Number.isInteger(length) && length >= 1 && length <= 32;
}

import { close as closeInBackground } from 'node:fs';
import { nativeCalls, type NativeCalls } from './libraries';
import { AF_NETLINK, NETLINK_NETFILTER, SOL_SOCKET, SO_DOMAIN, SO_PROTOCOL } from './netfilter-socket';
import { inNetworkNamespace } from './network-namespace';

export interface NftResult {
  ok: boolean;
  /** What `nft` would print: listings (JSON when the script asks for it with the context flag). */
  output: string;
  error: string;
}

/** libnftables' NFT_CTX_OUTPUT_JSON: listings come back as `nft -j` prints them. */
export const NFT_JSON_OUTPUT = 1 << 4;

const O_RDONLY_CLOEXEC = 0o2000000;

/**
 * nft scripts (what `nft -f` reads) run inside network namespaces, in this process: each run is
 * one netlink transaction, all or nothing, like `nsenter --net=PATH nft -f -` without the two
 * processes. One libnftables context per namespace is kept until `close`. The
 * context is made inside its namespace because its netlink socket is bound there; calls still
 * enter the namespace, as libnftables may reopen that socket.
 *
 * Closing: the last close of a netfilter netlink socket makes the kernel wait for nf_tables'
 * pending destructions (an RCU grace period, 5-20 ms) whenever a commit deleted something (an
 * element, a flushed rule) since. So each context's socket gets a spare descriptor when it is
 * made; `close` frees the contexts (their own descriptors close at no cost while the spare holds
 * the socket) and closes the spares on libuv's threadpool, where that wait blocks no one. Where
 * the spare cannot be had, the context's own close waits, as nft's would.
 */
export class NftSession {
  private readonly contexts = new Map<string, unknown>();
  private readonly spares: number[] = [];

  run(path: string, script: string, outputFlags = 0): NftResult {
    return inNetworkNamespace(path, (calls) => {
      let context = this.contexts.get(path);
      if (context === undefined) {
        context = this.newContext(calls, path);
        this.contexts.set(path, context);
      }
      calls.nftSetOutputFlags(context, outputFlags);
      const status = calls.nftRun(context, script);
      return { ok: status === 0, output: calls.nftOutput(context), error: calls.nftError(context) };
    });
  }

  close(): void {
    if (this.contexts.size > 0) {
      const calls = nativeCalls();
      for (const context of this.contexts.values()) calls.nftFree(context);
    }
    for (const spare of this.spares) closeInBackground(spare, () => undefined);
    this.contexts.clear();
    this.spares.length = 0;
  }

  private newContext(calls: NativeCalls, path: string): unknown {
    // nft_ctx_new opens its socket on the lowest free descriptor: the one a probe gets and gives back.
    const lowest = calls.open('/dev/null', O_RDONLY_CLOEXEC);
    if (lowest >= 0) calls.close(lowest);
    const context = calls.nftNew(0);
    if (context === null) throw new Error(`libnftables: cannot create a context in ${path}`);
    calls.nftBufferOutput(context);
    calls.nftBufferError(context);
    // Only a netfilter netlink socket can be that context's (nothing else makes one meanwhile); anything else is left alone.
    if (lowest >= 0 && calls.socketOption(lowest, SOL_SOCKET, SO_DOMAIN) === AF_NETLINK && calls.socketOption(lowest, SOL_SOCKET, SO_PROTOCOL) === NETLINK_NETFILTER) {
      const spare = calls.dupCloexec(lowest);
      if (spare >= 0) this.spares.push(spare);
    }
    return context;
  }
}

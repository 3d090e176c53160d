import { inNetworkNamespace } from './network-namespace';
import { nativeCalls } from './libraries';

export interface NftResult {
  ok: boolean;
  /** What `nft` would print: listings (JSON when the script asks for it with the context flag). */
  output: string;
  error: string;
}

/** libnftables' NFT_CTX_OUTPUT_JSON: listings come back as `nft -j` prints them. */
export const NFT_JSON_OUTPUT = 1 << 4;

/**
 * Runs an nft script (what `nft -f` reads) inside a network namespace, in this process: one
 * netlink transaction, all or nothing, like `nsenter --net=PATH nft -f -` without the two
 * processes.
 */
export function runNftIn(path: string, script: string, outputFlags = 0): NftResult {
  const session = new NftSession();
  try {
    return session.run(path, script, outputFlags);
  } finally {
    session.close();
  }
}

/**
 * Scripts in many namespaces, one libnftables context per namespace kept until `close`. The
 * context is made inside its namespace because its netlink socket is bound there; calls still
 * enter the namespace, as libnftables may reopen that socket. Why close later: closing a
 * netfilter netlink socket makes the kernel wait for nf_tables' pending destructions (an RCU
 * grace period, 5-15 ms) whenever a commit deleted something since; contexts freed together
 * after a pass's last commit pay that once instead of once per namespace.
 */
export class NftSession {
  private readonly contexts = new Map<string, unknown>();

  run(path: string, script: string, outputFlags = 0): NftResult {
    return inNetworkNamespace(path, (calls) => {
      let context = this.contexts.get(path);
      if (context === undefined) {
        context = calls.nftNew(0);
        if (context === null) throw new Error(`libnftables: cannot create a context in ${path}`);
        calls.nftBufferOutput(context);
        calls.nftBufferError(context);
        this.contexts.set(path, context);
      }
      calls.nftSetOutputFlags(context, outputFlags);
      const status = calls.nftRun(context, script);
      return { ok: status === 0, output: calls.nftOutput(context), error: calls.nftError(context) };
    });
  }

  close(): void {
    if (this.contexts.size === 0) return;
    const calls = nativeCalls();
    for (const context of this.contexts.values()) calls.nftFree(context);
    this.contexts.clear();
  }
}

import { inNetworkNamespace } from './network-namespace';

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
 * processes. The context is made inside the namespace because its netlink socket is bound there.
 */
export function runNftIn(path: string, script: string, outputFlags = 0): NftResult {
  return inNetworkNamespace(path, (calls) => {
    const context = calls.nftNew(0);
    if (context === null) throw new Error(`libnftables: cannot create a context in ${path}`);
    try {
      calls.nftBufferOutput(context);
      calls.nftBufferError(context);
      if (outputFlags !== 0) calls.nftSetOutputFlags(context, outputFlags);
      const status = calls.nftRun(context, script);
      return { ok: status === 0, output: calls.nftOutput(context), error: calls.nftError(context) };
    } finally {
      calls.nftFree(context);
    }
  });
}

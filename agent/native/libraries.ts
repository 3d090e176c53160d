import type { IKoffiLib } from 'koffi';

type KoffiFunction = ReturnType<IKoffiLib['func']>;

/**
 * The few C functions the agent calls in-process, loaded on first use: setns(2) and the socket
 * calls to make sockets inside a sandbox's network namespace, and libnftables to run nft
 * scripts there. One agent process then serves and programs a thousand namespaces without a
 * process per namespace (a `nsenter … nft` costs ≈ 3 ms of CPU; setns and a netlink transaction
 * cost ≈ 0.1 ms). Sockets and netlink handles stay in the namespace they were made in, so the
 * thread can return to its own namespace as soon as they exist.
 */
export interface NativeCalls {
  open(path: string, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  listen(fd: number, backlog: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  /** An int socket option; undefined when getsockopt fails (not a socket, say). */
  socketOption(fd: number, level: number, name: number): number | undefined;
  /** fcntl(fd, F_DUPFD_CLOEXEC): another descriptor of the same open file, closed on exec. */
  dupCloexec(fd: number): number;
  errno(): number;
  nftNew(flags: number): unknown;
  nftFree(context: unknown): void;
  nftRun(context: unknown, script: string): number;
  nftSetOutputFlags(context: unknown, flags: number): void;
  nftBufferOutput(context: unknown): number;
  nftBufferError(context: unknown): number;
  nftOutput(context: unknown): string;
  nftError(context: unknown): string;
}

const F_DUPFD_CLOEXEC = 1030;

let loaded: NativeCalls | undefined;

export function nativeCalls(): NativeCalls {
  loaded ??= load();
  return loaded;
}

function load(): NativeCalls {
  // Lazy: the CLI never loads the native module, only the agent's data plane does.
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  const nft = loadLibrary(koffi, 'libnftables.so.1', 'libnftables (apt: libnftables1, installed with nftables)');
  const call = (library: IKoffiLib, signature: string): KoffiFunction => library.func(signature);
  const open = call(libc, 'int open(const char *path, int flags)');
  const close = call(libc, 'int close(int fd)');
  const setns = call(libc, 'int setns(int fd, int nstype)');
  const socket = call(libc, 'int socket(int domain, int type, int protocol)');
  const bind = call(libc, 'int bind(int fd, const void *address, uint32_t length)');
  const listen = call(libc, 'int listen(int fd, int backlog)');
  const setsockopt = call(libc, 'int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
  const getsockopt = call(libc, 'int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *length)');
  const fcntl = call(libc, 'int fcntl(int fd, int command, ...)');
  const nftNew = call(nft, 'void *nft_ctx_new(uint32_t flags)');
  const nftFree = call(nft, 'void nft_ctx_free(void *context)');
  const nftRun = call(nft, 'int nft_run_cmd_from_buffer(void *context, const char *script)');
  const nftSetOutputFlags = call(nft, 'void nft_ctx_output_set_flags(void *context, uint32_t flags)');
  const nftBufferOutput = call(nft, 'int nft_ctx_buffer_output(void *context)');
  const nftBufferError = call(nft, 'int nft_ctx_buffer_error(void *context)');
  const nftOutput = call(nft, 'const char *nft_ctx_get_output_buffer(void *context)');
  const nftError = call(nft, 'const char *nft_ctx_get_error_buffer(void *context)');
  return {
    open: (path, flags) => open(path, flags) as number,
    close: (fd) => close(fd) as number,
    setns: (fd, nstype) => setns(fd, nstype) as number,
    socket: (domain, type, protocol) => socket(domain, type, protocol) as number,
    bind: (fd, address, length) => bind(fd, address, length) as number,
    listen: (fd, backlog) => listen(fd, backlog) as number,
    setsockopt: (fd, level, name, value, length) => setsockopt(fd, level, name, value, length) as number,
    socketOption: (fd, level, name) => {
      const value = Buffer.alloc(4);
      const length = [4];
      return (getsockopt(fd, level, name, value, length) as number) === 0 ? value.readInt32LE(0) : undefined;
    },
    dupCloexec: (fd) => fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0) as number,
    errno: () => koffi.errno(),
    nftNew: (flags) => nftNew(flags) as unknown,
    nftFree: (context) => {
      nftFree(context);
    },
    nftRun: (context, script) => nftRun(context, script) as number,
    nftSetOutputFlags: (context, flags) => {
      nftSetOutputFlags(context, flags);
    },
    nftBufferOutput: (context) => nftBufferOutput(context) as number,
    nftBufferError: (context) => nftBufferError(context) as number,
    nftOutput: (context) => (nftOutput(context) as string | null) ?? '',
    nftError: (context) => (nftError(context) as string | null) ?? '',
  };
}

function loadLibrary(koffi: typeof import('koffi'), name: string, installHint: string): IKoffiLib {
  try {
    return koffi.load(name);
  } catch (error) {
    throw new Error(`cannot load ${name}: ${(error as Error).message}; install ${installHint}`);
  }
}

/*
 * Preloaded into linux.uml by run-in-uml.sh. Debian 12's UML kernel (6.1) restores its
 * processes' FPU state with PTRACE_SETREGSET(NT_X86_XSTATE) from a 2,696-byte buffer: the
 * standard XSAVE layout up to AVX-512 and PKRU. On a CPU with AMX the host's layout goes on with
 * the tile state (11,008 bytes in all), and the host refuses a SETREGSET of any other size with
 * EFAULT: UML panics at its first process ("ptrace set fp regs failed, errno = 14").
 * This widens such a write to the host's size: UML's bytes, then zeros. The zeros are the tile
 * state's initial value, and UML's XSAVE header (within its bytes) never marks it in use: AMX is
 * a feature a process must ask the host for, and UML's processes never do. Everything else,
 * including writes that are already the host's size, passes through unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

long ptrace(enum __ptrace_request request, ...) {
  static ptrace_fn real;
  static unsigned char wide[1 << 16] __attribute__((aligned(64)));
  static size_t host_size; /* 0: not asked yet; the host tells it as the length of a GETREGSET */
  va_list args;
  va_start(args, request);
  pid_t pid = va_arg(args, pid_t);
  void *addr = va_arg(args, void *);
  void *data = va_arg(args, void *);
  va_end(args);
  if (real == NULL) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE && data != NULL) {
    struct iovec *given = data;
    if (host_size == 0) {
      struct iovec probe = {wide, sizeof wide};
      host_size = real(PTRACE_GETREGSET, pid, addr, &probe) == 0 ? probe.iov_len : sizeof wide + 1;
    }
    if (host_size > given->iov_len && host_size <= sizeof wide) {
      memcpy(wide, given->iov_base, given->iov_len);
      memset(wide + given->iov_len, 0, host_size - given->iov_len);
      struct iovec full = {wide, host_size};
      return real(PTRACE_SETREGSET, pid, addr, &full);
    }
  }
  return real(request, pid, addr, data);
}

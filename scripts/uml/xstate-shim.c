/*
 * Preloaded into linux.uml by run-in-uml.sh. Debian 12's UML kernel (6.1) saves and restores its
 * processes' FPU state with PTRACE_GETREGSET/SETREGSET(NT_X86_XSTATE) using a buffer of a fixed
 * size. On a CPU with AMX the host's XSAVE area is larger, and the host kernel refuses a SETREGSET
 * of any other size with EFAULT: UML panics at its first process ("ptrace set fp regs failed,
 * errno = 14"). This widens such a SETREGSET to the host's size: the host's current state first,
 * UML's bytes over its start (the legacy area, the XSAVE header and the features UML knows).
 * Calls of the right size, and every other ptrace call, pass through unchanged.
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
  static unsigned char host[1 << 16] __attribute__((aligned(64)));
  va_list args;
  va_start(args, request);
  pid_t pid = va_arg(args, pid_t);
  void *addr = va_arg(args, void *);
  void *data = va_arg(args, void *);
  va_end(args);
  if (real == NULL) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE && data != NULL) {
    struct iovec *given = data;
    struct iovec full = {host, sizeof host};
    if (real(PTRACE_GETREGSET, pid, addr, &full) == 0 && full.iov_len > given->iov_len) {
      memcpy(host, given->iov_base, given->iov_len);
      return real(PTRACE_SETREGSET, pid, addr, &full);
    }
  }
  return real(request, pid, addr, data);
}

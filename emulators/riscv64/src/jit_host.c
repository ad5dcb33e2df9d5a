/* The host's side of the page compiler. A wasm build reaches its host through a WASI call that
 * every runtime answers: fd_write to a descriptor no runtime opens. Hosts that compile pages
 * (the Node runner, the browser runtime) intercept it; the rest answer EBADF and the machine
 * stays an interpreter. Native builds have no page compiler. */
#include "jit.h"

#if defined(__wasi__)
#include <wasi/api.h>

/* the descriptor of the protocol; docs/contract.md, "Page compiler" */
#define JIT_FD 0x7c2a317u

int rv_jit_host_probe(void) {
  __wasi_size_t version = 0;
  return __wasi_fd_write(JIT_FD, NULL, 0, &version) == 0 && version == 1;
}

uint32_t rv_jit_host_install(const uint8_t *mod, size_t len, uint32_t slot) {
  __wasi_ciovec_t iov[2] = {{(const uint8_t *)&slot, 4}, {mod, len}};
  __wasi_size_t got = 0;
  if (__wasi_fd_write(JIT_FD, iov, 2, &got)) return 0;
  return got;
}
#else
int rv_jit_host_probe(void) { return 0; }
uint32_t rv_jit_host_install(const uint8_t *mod, size_t len, uint32_t slot) {
  (void)mod;
  (void)len;
  (void)slot;
  return 0;
}
#endif

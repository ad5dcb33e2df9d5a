/* The host's side of a machine's page compiler (docs/contract.md, "Page compiler"): a wasm
 * build asks its host to instantiate modules it wrote, through fd_write to a descriptor no
 * runtime opens. Hosts that compile (the Node runner, the browser runtime) answer; the rest
 * answer EBADF and the machine stays an interpreter. Native builds have no page compiler. */
#ifndef C2W_PAGE_COMPILER_H
#define C2W_PAGE_COMPILER_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* the protocol version the host speaks (1: one function per module, 2: also several), or 0 if
 * it compiles nothing */
int c2w_page_compiler_probe(void);
/* instantiates a module exporting "f" (memory and table imported as e.m and e.t) into table slot
 * slot (0: a new one); returns the slot, or 0 if the host refused it */
uint32_t c2w_page_compiler_install(const uint8_t *mod, size_t len, uint32_t slot);
/* version 2: installs the module's exports f0..f(n-1) into slots[0..n-1] (0: a new one), which
 * it updates; 1 if done, 0 if the host refused the module */
int c2w_page_compiler_install_many(const uint8_t *mod, size_t len, uint32_t *slots, size_t n);
#ifdef __cplusplus
}
#endif
#endif

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
/* 1 if the host instantiates compiled modules */
int c2w_page_compiler_probe(void);
/* instantiates a module exporting "f" (memory and table imported as e.m and e.t) into table slot
 * slot (0: a new one); returns the slot, or 0 if the host refused it */
uint32_t c2w_page_compiler_install(const uint8_t *mod, size_t len, uint32_t slot);
#ifdef __cplusplus
}
#endif
#endif

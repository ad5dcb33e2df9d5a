/* Page compiler: translates the executed instructions of a hot decoded page into one wasm
 * function that the host instantiates next to the machine (see README: "Page compiler").
 * Only wasm builds whose host offers it (rv_jit_host_probe) use it. */
#ifndef C2W_RV_JIT_H
#define C2W_RV_JIT_H
#include "cpu.h"
#include "page_compiler.h"

/* a page is compiled when it has been entered this many times, and again (at most JIT_ROUNDS
 * times in all) after its function was entered JIT_MISSES << (compilations so far) times where it
 * has no entry */
#define JIT_HOT 4000
#define JIT_MISSES 8
#define JIT_ROUNDS 8
/* the threshold in use, and whether compiling goes past what ran, up to the next jump (owned by
 * jit.c; tests set 1 and 1: every page compiled at its first entry with the code ahead of it) */
extern uint32_t rv_jit_hot;
extern int rv_jit_ahead;
/* what the end of a slice adds to the page it stopped in (pages hot only through inner loops) */
#define JIT_SAMPLE 100

/* compiled pages: (hart, budget, halfword index of the entry pc in the page whose virtual
 * address is s->dc_vpage) -> (budget left << 2) | how it ended; s->pc is where to go on */
typedef int32_t (*rv_jit_fn)(RVCPU *s, int32_t n, uint32_t entry);
enum {
  JIT_JUMPED = 0,    /* it ran up to s->pc */
  JIT_INTERPRET = 1, /* the interpreter must run the instruction at s->pc first */
  JIT_NOT_ENTRY = 2, /* s->pc is not an entry of the function: interpret it, and remember it */
};

/* compiles pg (its bytes at host), entered at halfword h, and installs it as pg->jit.fn; 0, or
 * -1 if it cannot be */
int rv_jit_compile(RVCPU *s, RVDPage *pg, const uint8_t *host, uint32_t h);
/* the compiled function of pg was entered at halfword h where it has no entry */
void rv_jit_missed(RVCPU *s, RVDPage *pg, const uint8_t *host, uint32_t h);

#endif

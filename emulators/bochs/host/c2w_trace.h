// The trace compiler of the Bochs machine (trace_compiler.cc): hot instruction traces of Bochs'
// instruction cache become wasm functions, under hosts that instantiate them (docs/contract.md,
// "Page compiler"). Patch 0006 calls it from cpu_loop and clears an entry's function when the
// entry is refilled. Owned by trace_compiler.cc: c2w_trace_on and c2w_trace_hits.
#ifndef C2W_TRACE_H
#define C2W_TRACE_H

struct bxICacheEntry_c;

// executions of a trace before it is compiled
#define C2W_TRACE_HOT 1000

#if defined(C2W_TRACE_COMPILER)
extern bool c2w_trace_on;  // the host instantiates compiled traces
// asks the host whether it compiles (at start and at resume: a snapshot's host was Wizer)
void c2w_trace_probe(void);
// on stderr if C2W_STATS is set: traces compiled (2: and the handlers they call)
void c2w_trace_report(void);
// every 16 runs of an entry: its earlier function if it decoded the same trace again; once the
// entry is hot it joins the batch compiled next; true if entry->c2w_fn is now set
bool c2w_trace_hot(bxICacheEntry_c *entry);

// runs of each instruction cache entry's trace since it was decoded (apart from the entries: the
// instruction cache stays 24 bytes an entry)
extern unsigned short c2w_trace_hits[];
#define C2W_TRACE_HITS(e_) (c2w_trace_hits[(e_) - BX_CPU_THIS_PTR iCache.entry])
#define C2W_TRACE_FILLED(e_) (C2W_TRACE_HITS(e_) = 0)
#define C2W_TRACE_HOT_NOW(entry) \
  (c2w_trace_on && (++C2W_TRACE_HITS(entry) & 15) == 0 && c2w_trace_hot(entry))
// runs a compiled trace (a function of the module's table): it returns -1 when it ran the trace
// or the index of the instruction whose handler runs the rest (with RIP at its start)
#define C2W_TRACE_RUN(entry)                                                 \
  do {                                                                       \
    int k_ = ((int (*)(void))(uintptr_t)(entry)->c2w_fn)();                  \
    if (k_ >= 0) {                                                           \
      bxInstruction_c *i_ = (entry)->i + k_;                                 \
      RIP += i_->ilen();                                                     \
      BX_CPU_CALL_METHOD(i_->execute1, (i_));                                \
    }                                                                        \
  } while (0)
#endif

#endif

// The trace compiler of the Bochs machine (trace_compiler.cc): hot instruction traces of Bochs'
// instruction cache become wasm functions, under hosts that instantiate them (docs/contract.md,
// "Page compiler"). Patch 0006 calls it from cpu_loop and serveICacheMiss, clears an entry's
// function when the entry is refilled, and breaks links (below) where code or mappings change.
// Owned by trace_compiler.cc: c2w_trace_on, c2w_trace_hits, c2w_link_epoch, c2w_far_epoch and
// c2w_link_site.
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
// every 16 runs of an entry without a function: once the entry is hot it joins the batch
// compiled next; true if entry->c2w_fn is now set
bool c2w_trace_hot(bxICacheEntry_c *entry);
// after Bochs decoded a trace into entry: the function compiled from the same trace, if any
void c2w_trace_decoded(bxICacheEntry_c *entry);
#define C2W_TRACE_DECODED(entry) \
  do {                           \
    if (c2w_trace_on) c2w_trace_decoded(entry); \
  } while (0)

// runs of each instruction cache entry's trace since it was decoded (apart from the entries: the
// instruction cache stays 24 bytes an entry)
extern unsigned short c2w_trace_hits[];
#define C2W_TRACE_HITS(e_) (c2w_trace_hits[(e_) - BX_CPU_THIS_PTR iCache.entry])
#define C2W_TRACE_FILLED(e_) (C2W_TRACE_HITS(e_) = 0)
#define C2W_TRACE_HOT_NOW(entry) \
  (c2w_trace_on && (++C2W_TRACE_HITS(entry) & 15) == 0 && c2w_trace_hot(entry))
// runs a compiled trace (a function of the module's table). The function returns 0 when it ran
// its trace (and any it went on to through links), or the address of an instruction of the
// trace it stopped in (its copy of that trace) to run by its handler, which runs the rest (RIP is
// at its start)
#define C2W_TRACE_RUN(entry)                                                         \
  do {                                                                               \
    unsigned p_ = ((unsigned (*)(void))(uintptr_t)(entry)->c2w_fn)();                \
    if (p_) {                                                                        \
      bxInstruction_c *i_ = (bxInstruction_c *) (uintptr_t) p_;                      \
      RIP += i_->ilen();                                                             \
      BX_CPU_CALL_METHOD(i_->execute1, (i_));                                        \
    }                                                                                \
  } while (0)

// Links: a compiled trace leaving for an address (through a branch, a return, or off its end)
// calls the function of the trace there itself (a tail call) if the link of that way out is
// current and leads there, no event is pending and no timer is due. A link holds the linear
// address it was made for and the table slot of that trace's function; it is current while its
// epoch is the one it depends on. c2w_link_epoch moves on whenever a link may no longer hold:
// code written over (SMC), the instruction cache emptied (Bochs forgets where code was, so SMC
// would go unseen), another fetch mode. A function stays what it is once installed.
// c2w_far_epoch also moves on at any change of the TLB (where Bochs breaks its own trace links:
// a linear address may lead elsewhere); links of direct branches to the trace's own page do not
// depend on it (their target's physical address is the trace's plus a constant). Links are made
// by cpu_loop: a trace leaving through a way out whose link is not current or leads elsewhere
// names it in c2w_link_site, and cpu_loop links it to the entry it finds next if that entry has
// a function.
struct c2w_link {
  unsigned long long rip;
  unsigned epoch, slot;
  const unsigned *current;  // &c2w_link_epoch or &c2w_far_epoch
};
extern unsigned c2w_link_epoch, c2w_far_epoch;
extern c2w_link *c2w_link_site;
#define C2W_TRACE_UNLINK_ALL() (c2w_link_epoch++, c2w_far_epoch++)
#define C2W_TRACE_UNLINK_FAR() (c2w_far_epoch++)
#define C2W_TRACE_LINK(entry)                                    \
  do {                                                           \
    c2w_link *s_ = c2w_link_site;                                \
    c2w_link_site = 0;                                           \
    if ((entry)->c2w_fn) {                                       \
      s_->rip = RIP;                                             \
      s_->epoch = *s_->current;                                  \
      s_->slot = (entry)->c2w_fn;                                \
    }                                                            \
  } while (0)
#endif

#endif

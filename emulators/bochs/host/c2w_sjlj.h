// setjmp/longjmp for Bochs' CPU exception delivery (c2w).
//
// Bochs leaves an instruction that faults with longjmp() back to the setjmp() at the top of
// BX_CPU_C::cpu_loop, and the code after that setjmp only re-enters the loop. So no frame
// ever needs to be *rewound*: a longjmp only has to *unwind* to cpu_loop's caller, which then
// calls cpu_loop again telling it that it "returned from setjmp a second time".
//
// C2W_SJLJ_ASYNCIFY (wasm, every runtime): longjmp starts a binaryen-asyncify unwind (the
// module imports asyncify.start_unwind / stop_unwind, which `wasm-opt --asyncify` turns into
// its own intrinsics); every frame returns; c2w_run_cpu (not instrumented) stops the unwind
// and re-enters cpu_loop. Nothing is ever rewound, so the module is built with
// asyncify-ignore-indirect and --mod-asyncify-always-and-only-unwind (build.sh): only frames that
// reach c2w_longjmp through direct calls are instrumented. An indirect call (instruction handlers)
// returns normally while unwinding, so the indirect calls that are followed by more work carry a
// C2W_UNWIND_POINT() (patch 0004): a direct call that lets the caller's instrumentation see the
// unwind. Handler chaining calls are tail calls and need none.
// Otherwise (native, or wasm built with -mllvm -wasm-enable-sjlj) the C library's
// setjmp/longjmp are used unchanged.
#ifndef C2W_SJLJ_H
#define C2W_SJLJ_H

#if defined(C2W_SJLJ_ASYNCIFY)
#ifdef __cplusplus
extern "C" {
#endif
typedef struct { int unused; } c2w_jmp_buf[1];
int c2w_setjmp_again(void);
void c2w_longjmp(void);
extern volatile int c2w_unwinding;
void c2w_unwind_point(void);
#ifdef __cplusplus
}
#endif
#define jmp_buf c2w_jmp_buf
#define setjmp(env) c2w_setjmp_again()
#define longjmp(env, val) c2w_longjmp()
#define C2W_UNWIND_POINT() do { if (c2w_unwinding) c2w_unwind_point(); } while (0)
#else
#include <setjmp.h>
#define C2W_UNWIND_POINT() do { } while (0)
#endif

#endif

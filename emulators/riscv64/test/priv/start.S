/* Bare-metal start, trap entries and mode switching for the privileged tests. */
  .option norvc
  .section .text.start
  .globl _start
_start:
  la sp, stack_top
  la t0, mtrap_entry
  csrw mtvec, t0
  la t0, strap_entry
  csrw stvec, t0
  call main
  li t0, 0x100000
  bnez a0, 1f
  li a1, 0x5555
  sw a1, 0(t0)
  j .
1:slli a0, a0, 16
  li a1, 0x3333
  or a0, a0, a1
  sw a0, 0(t0)
  j .

#define SAVE_ALL(base) \
  sd x1, 8(base); sd x3, 24(base); sd x4, 32(base); sd x5, 40(base); sd x6, 48(base); sd x7, 56(base); \
  sd x8, 64(base); sd x9, 72(base); sd x10, 80(base); sd x11, 88(base); sd x12, 96(base); sd x13, 104(base); \
  sd x14, 112(base); sd x15, 120(base); sd x16, 128(base); sd x17, 136(base); sd x18, 144(base); \
  sd x19, 152(base); sd x20, 160(base); sd x21, 168(base); sd x22, 176(base); sd x23, 184(base); \
  sd x24, 192(base); sd x25, 200(base); sd x26, 208(base); sd x27, 216(base); sd x28, 224(base); \
  sd x29, 232(base); sd x30, 240(base); sd x31, 248(base)
#define LOAD_ALL(base) \
  ld x1, 8(base); ld x3, 24(base); ld x4, 32(base); ld x5, 40(base); ld x6, 48(base); ld x7, 56(base); \
  ld x8, 64(base); ld x9, 72(base); ld x10, 80(base); ld x11, 88(base); ld x12, 96(base); ld x13, 104(base); \
  ld x14, 112(base); ld x15, 120(base); ld x16, 128(base); ld x17, 136(base); ld x18, 144(base); \
  ld x19, 152(base); ld x20, 160(base); ld x21, 168(base); ld x22, 176(base); ld x23, 184(base); \
  ld x24, 192(base); ld x25, 200(base); ld x26, 208(base); ld x27, 216(base); ld x28, 224(base); \
  ld x29, 232(base); ld x30, 240(base); ld x31, 248(base)

  .align 4
mtrap_entry:
  csrw mscratch, sp
  la sp, mframe
  SAVE_ALL(sp)
  csrr t0, mscratch
  sd t0, 16(sp)
  la sp, mstack_top
  la a0, mframe
  call mtrap_c
  bnez a0, 2f
  la sp, mframe
  LOAD_ALL(sp)
  ld sp, 16(sp)
  mret
2:/* return from enter_mode: a0 = the function's a0 */
  la t0, mframe
  ld a0, 80(t0)
  j resume_caller

  .align 4
strap_entry:
  csrw sscratch, sp
  la sp, sframe
  SAVE_ALL(sp)
  csrr t0, sscratch
  sd t0, 16(sp)
  la sp, sstack_top
  la a0, sframe
  call strap_c
  la sp, sframe
  LOAD_ALL(sp)
  ld sp, 16(sp)
  sret

/* long enter_mode(long mode, long (*fn)(long), long arg, void *stack) */
  .globl enter_mode
enter_mode:
  la t0, saved_ctx
  sd ra, 0(t0); sd sp, 8(t0); sd s0, 16(t0); sd s1, 24(t0); sd s2, 32(t0); sd s3, 40(t0)
  sd s4, 48(t0); sd s5, 56(t0); sd s6, 64(t0); sd s7, 72(t0); sd s8, 80(t0); sd s9, 88(t0)
  sd s10, 96(t0); sd s11, 104(t0); sd gp, 112(t0); sd tp, 120(t0)
  li t1, 0x1800
  csrc mstatus, t1
  slli t2, a0, 11
  csrs mstatus, t2
  csrw mepc, a1
  mv a0, a2
  mv sp, a3
  mv ra, a4
  mret

  .globl mode_exit_insn
mode_exit_insn:
  li a7, 0x5a5a
  ecall
  j .

resume_caller:
  la t0, saved_ctx
  ld ra, 0(t0); ld sp, 8(t0); ld s0, 16(t0); ld s1, 24(t0); ld s2, 32(t0); ld s3, 40(t0)
  ld s4, 48(t0); ld s5, 56(t0); ld s6, 64(t0); ld s7, 72(t0); ld s8, 80(t0); ld s9, 88(t0)
  ld s10, 96(t0); ld s11, 104(t0); ld gp, 112(t0); ld tp, 120(t0)
  ret

  .bss
  .align 12
saved_ctx: .zero 128
mframe: .zero 256
sframe: .zero 256
  .zero 8192
mstack_top:
  .zero 8192
sstack_top:
  .zero 16384
  .globl stack_top
stack_top:

/* Ops of decoded entries (RVDInsn.op): the interpreter (cpu.c) and the page compiler (jit.c). */
#ifndef C2W_RV_OPS_H
#define C2W_RV_OPS_H
#include "cpu.h"

/* op indices of decoded entries; 0 = not yet decoded. Fused sequences (see fuse()) last. */
#define RV_OPS(X) \
  X(UNDEC) X(NEWPC) X(PAGEEND) X(ILLEGAL) X(LI) X(AUIPC) X(JAL) X(JALR) X(BEQ) X(BNE) X(BLT) \
  X(BGE) X(BLTU) X(BGEU) X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU) X(SB) X(SH) X(SW) X(SD) \
  X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI) X(ADDIW) X(SLLIW) \
  X(SRLIW) X(SRAIW) X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND) \
  X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU) X(ADDW) X(SUBW) X(SLLW) \
  X(SRLW) X(SRAW) X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW) X(FENCE) X(AMO) X(SYSTEM) X(EBREAK) \
  X(FLW) X(FLD) X(FSW) X(FSD) X(FP) X(SLLI_SRLI) X(RORW) X(LD_LD) X(SD_SD) \
  X(ADD_ADD) X(ADDW_ADDW) X(LBU_BEQ) X(LBU_BNE) X(ADDI_BEQ) X(ADDI_BNE) X(AUIPC_LD)
#define RV_OP_ENUM(n) OP_##n,
enum { RV_OPS(RV_OP_ENUM) OP_COUNT };

/* decodes one instruction (32-bit, or RVC in the low 16 bits) into d, unfused */
void rv_decode(uint32_t insn, RVDInsn *d);
/* the instruction at byte off of a code page, if it lies wholly inside (else 0, which is illegal) */
uint32_t rv_peek(const uint8_t *page, uint32_t off);
#endif

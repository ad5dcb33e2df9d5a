/* A growable byte buffer for writing WebAssembly binaries (LEB128 integers, opcodes). */
#ifndef C2W_WASMBUF_H
#define C2W_WASMBUF_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint8_t *p;
  size_t len, cap;
  int oom; /* an allocation failed: the contents are incomplete */
} WBuf;

void wb_byte(WBuf *b, uint8_t v);
void wb_bytes(WBuf *b, const void *v, size_t n);
void wb_u32(WBuf *b, uint32_t v); /* unsigned LEB128 */
void wb_s64(WBuf *b, int64_t v);  /* signed LEB128 (i32.const and i64.const immediates) */
/* a section or function body: id (or none if < 0), then the LEB size of body, then body */
void wb_sized(WBuf *b, int id, const WBuf *body);
void wb_free(WBuf *b);
/* a module of one function, exported as "f", of the first of the types (a type section's
 * contents: count, then the types), importing the memory as e.m and, if table, the function
 * table as e.t: the shape of every page compiler's module (docs/contract.md, "Page compiler").
 * Importing the table costs the host work per module in the size of the table (V8). */
void wb_module(WBuf *m, const uint8_t *types, size_t types_len, int table, const WBuf *body);
/* the same with n functions of type 0, exported as f0, f1, ... (f if n is 1) */
void wb_module_many(WBuf *m, const uint8_t *types, size_t types_len, int table, const WBuf *bodies,
                    unsigned n);

#ifdef __cplusplus
}
#endif

/* the opcodes the page compilers emit */
enum {
  W_BLOCK = 0x02, W_LOOP = 0x03, W_IF = 0x04, W_ELSE = 0x05, W_END = 0x0b, W_BR = 0x0c, W_BR_IF = 0x0d,
  W_BR_TABLE = 0x0e, W_RETURN = 0x0f, W_CALL_INDIRECT = 0x11, W_RETURN_CALL_INDIRECT = 0x13, W_DROP = 0x1a, W_LOCAL_GET = 0x20, W_LOCAL_SET = 0x21, W_LOCAL_TEE = 0x22,
  W_I32_LOAD = 0x28, W_I64_LOAD = 0x29, W_I32_LOAD8_U = 0x2d, W_I32_LOAD16_U = 0x2f, W_I32_STORE = 0x36, W_I64_LOAD8_S = 0x30, W_I64_LOAD8_U = 0x31, W_I64_LOAD16_S = 0x32,
  W_I64_LOAD16_U = 0x33, W_I64_LOAD32_S = 0x34, W_I64_LOAD32_U = 0x35, W_I64_STORE = 0x37,
  W_I64_STORE8 = 0x3c, W_I64_STORE16 = 0x3d, W_I64_STORE32 = 0x3e, W_I32_CONST = 0x41, W_I64_CONST = 0x42,
  W_I32_GT_S = 0x4a, W_I32_LE_S = 0x4c, W_I64_EQZ = 0x50, W_I64_EQ = 0x51, W_I64_NE = 0x52,
  W_I64_LT_S = 0x53, W_I64_LT_U = 0x54, W_I64_GE_S = 0x59, W_I64_GE_U = 0x5a, W_I32_EQZ = 0x45,
  W_I32_EQ = 0x46, W_I32_NE = 0x47, W_I32_LT_U = 0x49, W_I32_GE_U = 0x4f, W_I64_GT_U = 0x56, W_I64_LE_S = 0x57, W_I64_LE_U = 0x58, W_I32_ADD = 0x6a, W_I32_SUB = 0x6b, W_I32_MUL = 0x6c, W_I32_DIV_S = 0x6d,
  W_I32_DIV_U = 0x6e, W_I32_REM_S = 0x6f, W_I32_REM_U = 0x70, W_I32_AND = 0x71, W_I32_OR = 0x72, W_I32_XOR = 0x73,
  W_I32_SHL = 0x74, W_I32_SHR_S = 0x75, W_I32_SHR_U = 0x76, W_I64_ADD = 0x7c, W_I64_SUB = 0x7d,
  W_I64_MUL = 0x7e, W_I64_DIV_S = 0x7f, W_I64_DIV_U = 0x80, W_I64_REM_S = 0x81, W_I64_REM_U = 0x82,
  W_I64_AND = 0x83, W_I64_OR = 0x84, W_I64_XOR = 0x85, W_I64_SHL = 0x86, W_I64_SHR_S = 0x87,
  W_I64_SHR_U = 0x88, W_I64_ROTL = 0x89, W_I64_ROTR = 0x8a, W_I32_ROTL = 0x77, W_I32_ROTR = 0x78, W_I32_WRAP_I64 = 0xa7, W_I64_EXTEND_I32_S = 0xac, W_I64_EXTEND_I32_U = 0xad, W_I64_EXTEND8_S = 0xc2, W_I64_EXTEND16_S = 0xc3, W_I64_EXTEND32_S = 0xc4,
};
enum { WT_VOID = 0x40, WT_I32 = 0x7f, WT_I64 = 0x7e };
#endif

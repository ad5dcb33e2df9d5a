// Differential test of patch 0005 (PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM): the patched
// Bochs cpu/sse_string.cc keeps the original compare_strings() + aggregate() under
// C2W_PCMPSTR_REFERENCE; this driver compiles the helper part of that file (everything before
// the instruction handlers, extracted by pcmpstr.test.ts into helpers.inc) with a minimal shim of
// Bochs' types, and checks c2w_pcmpstr_result() against the reference for every imm8, every
// pair of string lengths (0..8 or 0..16) and random operands drawn from small alphabets (so that
// equal, ordered and range matches are frequent) and from all byte/word values.
// Prints "ok N" (N cases compared) or the first mismatch, and exits 1 on a mismatch.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

typedef uint8_t Bit8u;
typedef int8_t Bit8s;
typedef uint16_t Bit16u;
typedef int16_t Bit16s;
typedef uint32_t Bit32u;
typedef int32_t Bit32s;
typedef uint64_t Bit64u;
typedef int64_t Bit64s;
#define BX_CONST64(x) (x##LL)
#define BX_CPU_LEVEL 6
#define BX_SUPPORT_X86_64 1

union BxPackedXmmRegister {
  Bit8s xmm_sbyte[16];
  Bit16s xmm_s16[8];
  Bit8u xmm_ubyte[16];
  Bit16u xmm_u16[8];
  Bit64u xmm_u64[2];
};
#define xmm16s(i) xmm_s16[(i)]
#define xmmsbyte(i) xmm_sbyte[(i)]
#define xmmubyte(i) xmm_ubyte[(i)]
#define xmm16u(i) xmm_u16[(i)]

#include "helpers.inc"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next() {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static void fill(BxPackedXmmRegister &r, unsigned kind) {
  static const Bit8u bytes[] = {0, 1, 2, 'a', 'b', 0x7f, 0x80, 0xff};
  static const Bit16u words[] = {0, 1, 2, 0x61, 0x7fff, 0x8000, 0xffff, 0x100};
  for (int k = 0; k < 16; k++) {
    switch (kind) {
      case 0: r.xmm_ubyte[k] = (Bit8u)next(); break;                 // any byte
      case 1: r.xmm_ubyte[k] = bytes[next() % 8]; break;            // 8 byte values
      case 2: r.xmm_ubyte[k] = bytes[next() % 3]; break;            // 3 byte values
      case 3: if (k < 8) r.xmm_u16[k] = words[next() % 8]; break;   // 8 word values
      case 4: if (k < 8) r.xmm_u16[k] = words[next() % 3]; break;   // 3 word values
      case 5: r.xmm_ubyte[k] = (Bit8u)(0x60 + next() % 8); break;  // letters (ranges)
    }
  }
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 24;
  unsigned long cases = 0;
  for (unsigned r = 0; r < rounds; r++) {
    for (unsigned kind = 0; kind < 6; kind++) {
      BxPackedXmmRegister op1, op2;
      fill(op1, kind);
      fill(op2, kind);
      if (next() % 4 == 0) op2 = op1;  // equal strings
      if (next() % 4 == 0) {           // op1 a substring of op2
        unsigned at = next() % 16, len = next() % 16;
        for (unsigned k = 0; k < len && at + k < 16; k++) op2.xmm_ubyte[at + k] = op1.xmm_ubyte[k];
      }
      for (unsigned imm = 0; imm < 256; imm++) {
        unsigned n = (imm & 1) ? 8 : 16;
        Bit8u bool_res[16][16];
        compare_strings(bool_res, op1, op2, (Bit8u)imm);
        for (unsigned len1 = 0; len1 <= n; len1++) {
          for (unsigned len2 = 0; len2 <= n; len2++) {
            Bit16u want = aggregate(bool_res, len1, len2, (Bit8u)imm);
            Bit16u got = c2w_pcmpstr_result(op1, op2, len1, len2, (Bit8u)imm);
            cases++;
            if (want != got) {
              printf("mismatch imm8=0x%02x len1=%u len2=%u want=0x%04x got=0x%04x\n op1=", imm,
                     len1, len2, want, got);
              for (int k = 0; k < 16; k++) printf("%02x", op1.xmm_ubyte[k]);
              printf("\n op2=");
              for (int k = 0; k < 16; k++) printf("%02x", op2.xmm_ubyte[k]);
              printf("\n");
              return 1;
            }
          }
        }
      }
    }
  }
  // the explicit-length helpers: lengths from EAX/EDX as the handlers compute them
  for (int v = -40; v <= 40; v++) {
    if (find_eos32(v, 0) != (unsigned)(abs(v) > 16 ? 16 : abs(v)) ||
        find_eos32(v, 1) != (unsigned)(abs(v) > 8 ? 8 : abs(v))) {
      printf("find_eos32 mismatch at %d\n", v);
      return 1;
    }
  }
  printf("ok %lu\n", cases);
  return 0;
}

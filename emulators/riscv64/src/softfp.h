/* IEEE-754 binary32/binary64 arithmetic in software, RISC-V semantics
 * (canonical NaNs, tininess after rounding, all five rounding modes, fflags). */
#ifndef C2W_SOFTFP_H
#define C2W_SOFTFP_H
#include <stdint.h>

enum { RM_RNE = 0, RM_RTZ = 1, RM_RDN = 2, RM_RUP = 3, RM_RMM = 4 };
enum { FF_NX = 1, FF_UF = 2, FF_OF = 4, FF_DZ = 8, FF_NV = 16 };

/* fmt: 0 = binary32, 1 = binary64. Values travel in uint64_t (binary32 in the low 32 bits). */
uint64_t sf_add(int fmt, uint64_t a, uint64_t b, int rm, uint32_t *fl);
uint64_t sf_sub(int fmt, uint64_t a, uint64_t b, int rm, uint32_t *fl);
uint64_t sf_mul(int fmt, uint64_t a, uint64_t b, int rm, uint32_t *fl);
uint64_t sf_div(int fmt, uint64_t a, uint64_t b, int rm, uint32_t *fl);
uint64_t sf_sqrt(int fmt, uint64_t a, int rm, uint32_t *fl);
/* a*b+c with a single rounding; neg_prod negates a*b, neg_c negates c */
uint64_t sf_fma(int fmt, uint64_t a, uint64_t b, uint64_t c, int neg_prod, int neg_c, int rm, uint32_t *fl);
uint64_t sf_min(int fmt, uint64_t a, uint64_t b, uint32_t *fl);
uint64_t sf_max(int fmt, uint64_t a, uint64_t b, uint32_t *fl);
int sf_eq(int fmt, uint64_t a, uint64_t b, uint32_t *fl);
int sf_lt(int fmt, uint64_t a, uint64_t b, uint32_t *fl);
int sf_le(int fmt, uint64_t a, uint64_t b, uint32_t *fl);
uint32_t sf_classify(int fmt, uint64_t a);
/* float -> integer; is64: 64-bit result, is_unsigned. Result sign-extended per RISC-V. */
uint64_t sf_to_int(int fmt, uint64_t a, int is64, int is_unsigned, int rm, uint32_t *fl);
/* integer -> float; v is the source (already truncated/extended per is64/is_unsigned) */
uint64_t sf_from_int(int fmt, uint64_t v, int is64, int is_unsigned, int rm, uint32_t *fl);
uint64_t sf_cvt(int to_fmt, int from_fmt, uint64_t a, int rm, uint32_t *fl);

#endif

/* IEEE-754 binary32/binary64 in software with RISC-V semantics.
 *
 * Internal form of a finite nonzero value: sign, biased exponent e (an int, may leave the
 * format's range) and a 64-bit significand m whose leading one is at bit 62, so that
 * value = m / 2^62 * 2^(e - bias). Bits below the format's precision are rounding bits;
 * shifts right "jam" lost bits into bit 0 (sticky). Both formats share the code: the format
 * only decides precision, exponent range and packing. */
#include "softfp.h"

typedef unsigned __int128 u128;

static inline int MB(int f) { return f ? 52 : 23; }
static inline int BIAS(int f) { return f ? 1023 : 127; }
static inline int EMAX(int f) { return f ? 2047 : 255; }
static inline uint64_t SIGN(int f) { return f ? 1ULL << 63 : 1ULL << 31; }
static inline uint64_t QNAN(int f) { return f ? 0x7ff8000000000000ULL : 0x7fc00000ULL; }
static inline uint64_t INF(int f) { return (uint64_t)EMAX(f) << MB(f); }
static inline uint64_t MASKW(int f, uint64_t a) { return f ? a : (a & 0xffffffffULL); }

static inline int sgn(int f, uint64_t a) { return (a & SIGN(f)) != 0; }
static inline int expf_(int f, uint64_t a) { return (int)((a >> MB(f)) & (uint64_t)EMAX(f)); }
static inline uint64_t mant(int f, uint64_t a) { return a & ((1ULL << MB(f)) - 1); }
static inline int isnan_(int f, uint64_t a) { return expf_(f, a) == EMAX(f) && mant(f, a) != 0; }
static inline int issnan(int f, uint64_t a) {
  return isnan_(f, a) && !((mant(f, a) >> (MB(f) - 1)) & 1);
}
static inline int isinf_(int f, uint64_t a) { return expf_(f, a) == EMAX(f) && mant(f, a) == 0; }
static inline int iszero(int f, uint64_t a) { return (a & ~SIGN(f)) == 0; }

static inline int clz64(uint64_t x) { return x ? __builtin_clzll(x) : 64; }
static inline int clz128(u128 x) {
  uint64_t hi = (uint64_t)(x >> 64);
  return hi ? __builtin_clzll(hi) : 64 + clz64((uint64_t)x);
}
static inline uint64_t shr_jam(uint64_t x, int d) {
  if (d <= 0) return x;
  if (d >= 64) return x != 0;
  return (x >> d) | ((x & ((1ULL << d) - 1)) != 0);
}
static inline u128 shr_jam128(u128 x, int d) {
  if (d <= 0) return x;
  if (d >= 128) return x != 0;
  return (x >> d) | ((x & ((((u128)1) << d) - 1)) != 0);
}

/* increment decision: q_lsb = lowest kept bit, r = dropped bits, half = weight of 1/2 ulp */
static inline int rinc(int rm, int sign, int q_lsb, uint64_t r, uint64_t half) {
  switch (rm) {
  case RM_RNE: return r > half || (r == half && q_lsb);
  case RM_RTZ: return 0;
  case RM_RDN: return sign && r != 0;
  case RM_RUP: return !sign && r != 0;
  default: return r >= half; /* RMM */
  }
}

static uint64_t overflow(int f, int sign, int rm, uint32_t *fl) {
  *fl |= FF_OF | FF_NX;
  int to_inf = rm == RM_RNE || rm == RM_RMM || (rm == RM_RUP && !sign) || (rm == RM_RDN && sign);
  return (sign ? SIGN(f) : 0) | (to_inf ? INF(f) : INF(f) - 1);
}

/* normalized unpack of a finite nonzero value */
static inline int unpack(int f, uint64_t a, uint64_t *m) {
  int e = expf_(f, a);
  uint64_t mt = mant(f, a);
  if (e == 0) {
    uint64_t x = mt << (62 - MB(f));
    int s = clz64(x) - 1;
    *m = x << s;
    return 1 - s;
  }
  *m = (mt | (1ULL << MB(f))) << (62 - MB(f));
  return e;
}

static uint64_t round_pack(int f, int sign, int e, uint64_t m, int rm, uint32_t *fl) {
  int mb = MB(f), rs = 62 - mb, emax = EMAX(f);
  uint64_t sg = sign ? SIGN(f) : 0;
  if (m == 0) return sg;
  if (m >> 63) {
    m = (m >> 1) | (m & 1);
    e++;
  } else {
    int s = clz64(m) - 1;
    m <<= s;
    e -= s;
  }
  uint64_t mask = (1ULL << rs) - 1, half = 1ULL << (rs - 1);
  int tiny = 0;
  if (e <= 0) {
    if (e < 0) {
      tiny = 1;
    } else {
      uint64_t q = m >> rs;
      q += rinc(rm, sign, (int)(q & 1), m & mask, half);
      tiny = (q >> (mb + 1)) == 0;
    }
    m = shr_jam(m, 1 - e);
    e = 1;
  }
  if (e >= emax) return overflow(f, sign, rm, fl);
  uint64_t r = m & mask, q = m >> rs;
  q += rinc(rm, sign, (int)(q & 1), r, half);
  uint64_t res = ((uint64_t)(e - 1) << mb) + q;
  if ((res >> mb) >= (uint64_t)emax) return overflow(f, sign, rm, fl);
  if (r) {
    *fl |= FF_NX;
    if (tiny) *fl |= FF_UF;
  }
  return sg | res;
}

static uint64_t nan_result(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  if (issnan(f, a) || issnan(f, b)) *fl |= FF_NV;
  return QNAN(f);
}

static uint64_t addsub(int f, uint64_t a, uint64_t b, int rm, uint32_t *fl) {
  if (isnan_(f, a) || isnan_(f, b)) return nan_result(f, a, b, fl);
  int sa = sgn(f, a), sb = sgn(f, b);
  if (isinf_(f, a)) {
    if (isinf_(f, b) && sa != sb) {
      *fl |= FF_NV;
      return QNAN(f);
    }
    return a;
  }
  if (isinf_(f, b)) return b;
  if (iszero(f, a) && iszero(f, b)) {
    int s = sa == sb ? sa : (rm == RM_RDN);
    return s ? SIGN(f) : 0;
  }
  if (iszero(f, a)) return b;
  if (iszero(f, b)) return a;
  uint64_t ma, mb;
  int ea = unpack(f, a, &ma), eb = unpack(f, b, &mb);
  if (ea < eb || (ea == eb && ma < mb)) {
    uint64_t t = ma; ma = mb; mb = t;
    int te = ea; ea = eb; eb = te;
    te = sa; sa = sb; sb = te;
  }
  mb = shr_jam(mb, ea - eb);
  uint64_t m;
  if (sa == sb) {
    m = ma + mb;
  } else {
    m = ma - mb;
    if (m == 0) return rm == RM_RDN ? SIGN(f) : 0;
  }
  return round_pack(f, sa, ea, m, rm, fl);
}

uint64_t sf_add(int f, uint64_t a, uint64_t b, int rm, uint32_t *fl) {
  return addsub(f, MASKW(f, a), MASKW(f, b), rm, fl);
}
uint64_t sf_sub(int f, uint64_t a, uint64_t b, int rm, uint32_t *fl) {
  return addsub(f, MASKW(f, a), MASKW(f, b) ^ SIGN(f), rm, fl);
}

uint64_t sf_mul(int f, uint64_t a, uint64_t b, int rm, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (isnan_(f, a) || isnan_(f, b)) return nan_result(f, a, b, fl);
  int s = sgn(f, a) ^ sgn(f, b);
  uint64_t sg = s ? SIGN(f) : 0;
  if (isinf_(f, a) || isinf_(f, b)) {
    if (iszero(f, a) || iszero(f, b)) {
      *fl |= FF_NV;
      return QNAN(f);
    }
    return sg | INF(f);
  }
  if (iszero(f, a) || iszero(f, b)) return sg;
  uint64_t ma, mb;
  int ea = unpack(f, a, &ma), eb = unpack(f, b, &mb);
  u128 p = (u128)ma * mb;
  uint64_t m = (uint64_t)(p >> 62) | (((uint64_t)p & ((1ULL << 62) - 1)) != 0);
  return round_pack(f, s, ea + eb - BIAS(f), m, rm, fl);
}

uint64_t sf_div(int f, uint64_t a, uint64_t b, int rm, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (isnan_(f, a) || isnan_(f, b)) return nan_result(f, a, b, fl);
  int s = sgn(f, a) ^ sgn(f, b);
  uint64_t sg = s ? SIGN(f) : 0;
  if (isinf_(f, a)) {
    if (isinf_(f, b)) {
      *fl |= FF_NV;
      return QNAN(f);
    }
    return sg | INF(f);
  }
  if (isinf_(f, b)) return sg;
  if (iszero(f, b)) {
    if (iszero(f, a)) {
      *fl |= FF_NV;
      return QNAN(f);
    }
    *fl |= FF_DZ;
    return sg | INF(f);
  }
  if (iszero(f, a)) return sg;
  uint64_t ma, mb;
  int ea = unpack(f, a, &ma), eb = unpack(f, b, &mb);
  u128 n = (u128)ma << 62;
  uint64_t q = (uint64_t)(n / mb);
  uint64_t r = (uint64_t)(n - (u128)q * mb);
  return round_pack(f, s, ea - eb + BIAS(f), q | (r != 0), rm, fl);
}

uint64_t sf_sqrt(int f, uint64_t a, int rm, uint32_t *fl) {
  a = MASKW(f, a);
  if (isnan_(f, a)) return nan_result(f, a, a, fl);
  if (iszero(f, a)) return a;
  if (sgn(f, a)) {
    *fl |= FF_NV;
    return QNAN(f);
  }
  if (isinf_(f, a)) return a;
  uint64_t m;
  int e = unpack(f, a, &m);
  int E = e - BIAS(f);
  u128 x = (u128)m << 62;
  if (E & 1) {
    x <<= 1;
    E -= 1;
  }
  u128 res = 0, bit = (u128)1 << 126;
  while (bit > x) bit >>= 2;
  while (bit) {
    if (x >= res + bit) {
      x -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  return round_pack(f, 0, E / 2 + BIAS(f), (uint64_t)res | (x != 0), rm, fl);
}

uint64_t sf_fma(int f, uint64_t a, uint64_t b, uint64_t c, int neg_prod, int neg_c, int rm,
                uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  c = MASKW(f, c);
  if (isnan_(f, a) || isnan_(f, b) || isnan_(f, c)) {
    if (issnan(f, a) || issnan(f, b) || issnan(f, c)) *fl |= FF_NV;
    if ((isinf_(f, a) && iszero(f, b)) || (iszero(f, a) && isinf_(f, b))) *fl |= FF_NV;
    return QNAN(f);
  }
  if (neg_c) c ^= SIGN(f);
  int sp = sgn(f, a) ^ sgn(f, b) ^ (neg_prod != 0), sc = sgn(f, c);
  if (isinf_(f, a) || isinf_(f, b)) {
    if (iszero(f, a) || iszero(f, b) || (isinf_(f, c) && sc != sp)) {
      *fl |= FF_NV;
      return QNAN(f);
    }
    return (sp ? SIGN(f) : 0) | INF(f);
  }
  if (isinf_(f, c)) return c;
  if (iszero(f, a) || iszero(f, b)) {
    if (iszero(f, c)) {
      int s = sp == sc ? sc : (rm == RM_RDN);
      return s ? SIGN(f) : 0;
    }
    return c;
  }
  uint64_t ma, mb, mc;
  int ea = unpack(f, a, &ma), eb = unpack(f, b, &mb);
  int ep = ea + eb - BIAS(f);
  u128 p = (u128)ma * mb; /* value = p / 2^124 * 2^(ep - bias) */
  if (iszero(f, c)) {
    uint64_t m = (uint64_t)(p >> 62) | (((uint64_t)p & ((1ULL << 62) - 1)) != 0);
    return round_pack(f, sp, ep, m, rm, fl);
  }
  int ec = unpack(f, c, &mc);
  u128 pc = (u128)mc << 62;
  u128 x, y;
  int sx, sy, e;
  if (ep >= ec) {
    x = p; sx = sp; y = shr_jam128(pc, ep - ec); sy = sc; e = ep;
  } else {
    x = pc; sx = sc; y = shr_jam128(p, ec - ep); sy = sp; e = ec;
  }
  u128 s;
  int sign;
  if (sx == sy) {
    s = x + y;
    sign = sx;
  } else if (x >= y) {
    s = x - y;
    sign = sx;
  } else {
    s = y - x;
    sign = sy;
  }
  if (s == 0) return rm == RM_RDN ? SIGN(f) : 0;
  int k = clz128(s) - 1;
  if (k < 0) {
    s = shr_jam128(s, 1);
    k = -1;
  } else {
    s <<= k;
  }
  uint64_t m = (uint64_t)(s >> 64) | ((uint64_t)s != 0);
  return round_pack(f, sign, e + 2 - k, m, rm, fl);
}

static inline int lt_raw(int f, uint64_t a, uint64_t b) {
  int sa = sgn(f, a), sb = sgn(f, b);
  if (iszero(f, a) && iszero(f, b)) return 0;
  if (sa != sb) return sa;
  return sa ? a > b : a < b;
}

uint64_t sf_min(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (issnan(f, a) || issnan(f, b)) *fl |= FF_NV;
  if (isnan_(f, a) && isnan_(f, b)) return QNAN(f);
  if (isnan_(f, a)) return b;
  if (isnan_(f, b)) return a;
  if (sgn(f, a) != sgn(f, b)) return sgn(f, a) ? a : b;
  return lt_raw(f, a, b) ? a : b;
}

uint64_t sf_max(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (issnan(f, a) || issnan(f, b)) *fl |= FF_NV;
  if (isnan_(f, a) && isnan_(f, b)) return QNAN(f);
  if (isnan_(f, a)) return b;
  if (isnan_(f, b)) return a;
  if (sgn(f, a) != sgn(f, b)) return sgn(f, a) ? b : a;
  return lt_raw(f, a, b) ? b : a;
}

int sf_eq(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (isnan_(f, a) || isnan_(f, b)) {
    if (issnan(f, a) || issnan(f, b)) *fl |= FF_NV;
    return 0;
  }
  return a == b || (iszero(f, a) && iszero(f, b));
}

int sf_lt(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (isnan_(f, a) || isnan_(f, b)) {
    *fl |= FF_NV;
    return 0;
  }
  return lt_raw(f, a, b);
}

int sf_le(int f, uint64_t a, uint64_t b, uint32_t *fl) {
  a = MASKW(f, a);
  b = MASKW(f, b);
  if (isnan_(f, a) || isnan_(f, b)) {
    *fl |= FF_NV;
    return 0;
  }
  return !lt_raw(f, b, a);
}

uint32_t sf_classify(int f, uint64_t a) {
  a = MASKW(f, a);
  int s = sgn(f, a);
  if (isnan_(f, a)) return issnan(f, a) ? 1u << 8 : 1u << 9;
  if (isinf_(f, a)) return s ? 1u << 0 : 1u << 7;
  if (iszero(f, a)) return s ? 1u << 3 : 1u << 4;
  if (expf_(f, a) == 0) return s ? 1u << 2 : 1u << 5;
  return s ? 1u << 1 : 1u << 6;
}

uint64_t sf_to_int(int f, uint64_t a, int is64, int uns, int rm, uint32_t *fl) {
  a = MASKW(f, a);
  uint64_t maxv, minv, r;
  if (uns) {
    maxv = is64 ? ~0ULL : 0xffffffffULL;
    minv = 0;
  } else {
    maxv = is64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
    minv = is64 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)INT32_MIN;
  }
  int s = sgn(f, a);
  if (isnan_(f, a)) {
    *fl |= FF_NV;
    r = maxv;
    goto out;
  }
  if (isinf_(f, a)) {
    *fl |= FF_NV;
    r = s ? minv : maxv;
    goto out;
  }
  if (iszero(f, a)) {
    r = 0;
    goto out;
  }
  {
    uint64_t m, ip, fr;
    int E = unpack(f, a, &m) - BIAS(f);
    if (E >= 64) {
      *fl |= FF_NV;
      r = s ? minv : maxv;
      goto out;
    }
    if (E < 0) {
      ip = 0;
      fr = E == -1 ? m << 1 : shr_jam(m << 1, -1 - E);
    } else if (E <= 61) {
      ip = m >> (62 - E);
      fr = m << (E + 2);
    } else if (E == 62) {
      ip = m;
      fr = 0;
    } else {
      ip = m << 1;
      fr = 0;
    }
    ip += rinc(rm, s, (int)(ip & 1), fr, 1ULL << 63);
    if (uns) {
      if (s && ip != 0) {
        *fl |= FF_NV;
        r = 0;
        goto out;
      }
      if (ip > maxv) {
        *fl |= FF_NV;
        r = maxv;
        goto out;
      }
      r = ip;
    } else if (s) {
      if (ip > maxv + 1) {
        *fl |= FF_NV;
        r = minv;
        goto out;
      }
      r = (uint64_t)0 - ip;
    } else {
      if (ip > maxv) {
        *fl |= FF_NV;
        r = maxv;
        goto out;
      }
      r = ip;
    }
    if (fr) *fl |= FF_NX;
  }
out:
  if (!is64) r = (uint64_t)(int64_t)(int32_t)(uint32_t)r;
  return r;
}

uint64_t sf_from_int(int f, uint64_t v, int is64, int uns, int rm, uint32_t *fl) {
  if (!is64) v = uns ? (uint64_t)(uint32_t)v : (uint64_t)(int64_t)(int32_t)(uint32_t)v;
  int s = 0;
  uint64_t m = v;
  if (!uns && (int64_t)v < 0) {
    s = 1;
    m = (uint64_t)0 - v;
  }
  if (m == 0) return 0;
  int lz = clz64(m), e;
  if (lz == 0) {
    m = shr_jam(m, 1);
    e = BIAS(f) + 63;
  } else {
    m <<= lz - 1;
    e = BIAS(f) + 63 - lz;
  }
  return round_pack(f, s, e, m, rm, fl);
}

uint64_t sf_cvt(int to, int from, uint64_t a, int rm, uint32_t *fl) {
  a = MASKW(from, a);
  if (isnan_(from, a)) return nan_result(from, a, a, fl), QNAN(to);
  int s = sgn(from, a);
  uint64_t sg = s ? SIGN(to) : 0;
  if (isinf_(from, a)) return sg | INF(to);
  if (iszero(from, a)) return sg;
  uint64_t m;
  int e = unpack(from, a, &m) - BIAS(from) + BIAS(to);
  return round_pack(to, s, e, m, rm, fl);
}

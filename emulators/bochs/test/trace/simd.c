/* SSE2 and AVX2 integer operations on vector registers, and glibc's string functions that use
 * them, for the Bochs trace compiler's test (test/trace.test.ts): the same static binary runs
 * in the guest with the compiler and without, and both must print the same. Loads and stores
 * are aligned and not, in registers and in memory, and each round hashes what it saw; the first
 * rounds run interpreted, the later ones compiled. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t h;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ull; }
static void mix128(__m128i v) {
  mix((uint64_t)_mm_cvtsi128_si64(v));
  mix((uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
}

static _Alignas(32) unsigned char buf[256];

__attribute__((noinline, target("ssse3"))) static void sse(unsigned off, unsigned char c) {
  __m128i a = _mm_load_si128((const __m128i *)buf);            /* movdqa load */
  __m128i u = _mm_loadu_si128((const __m128i *)(buf + off));   /* movdqu load */
  __m128i k = _mm_set1_epi8((char)c);
  __m128i eq = _mm_cmpeq_epi8(u, k);                            /* pcmpeqb */
  __m128i x = _mm_xor_si128(a, u);                              /* pxor */
  __m128i o = _mm_or_si128(eq, x);                              /* por */
  __m128i n = _mm_and_si128(o, a);                              /* pand */
  mix((unsigned)_mm_movemask_epi8(eq));                         /* pmovmskb */
  mix((unsigned)_mm_movemask_epi8(n));
  mix128(o);
  mix128(_mm_shuffle_epi8(u, x));                               /* pshufb */
  _mm_storeu_si128((__m128i *)(buf + 64 + off), x);             /* movdqu store */
  _mm_store_si128((__m128i *)(buf + 128), n);                   /* movdqa store */
}

__attribute__((noinline, target("avx2"))) static void avx(unsigned off, unsigned char c) {
  __m256i u = _mm256_loadu_si256((const __m256i *)(buf + off)); /* vmovdqu 256 */
  __m256i a = _mm256_load_si256((const __m256i *)buf);          /* vmovdqa 256 */
  __m128i d = _mm_cvtsi32_si128((int)(c * 0x01010101u + off));  /* vmovd */
  __m256i k = _mm256_broadcastb_epi8(d);                          /* vpbroadcastb */
  mix128(_mm_shuffle_epi8(d, _mm256_castsi256_si128(u)));         /* vpshufb 128 */
  __m256i eq = _mm256_cmpeq_epi8(u, k);                          /* vpcmpeqb 256 */
  __m256i x = _mm256_xor_si256(a, u);                            /* vpxor 256 */
  __m256i o = _mm256_or_si256(eq, _mm256_and_si256(x, a));       /* vpor, vpand 256 */
  mix((unsigned)_mm256_movemask_epi8(eq));                       /* vpmovmskb 256 */
  mix((unsigned)_mm256_movemask_epi8(o));
  mix((unsigned)_mm256_movemask_epi8(_mm256_shuffle_epi8(x, u))); /* vpshufb 256 */
  __m128i l = _mm_loadu_si128((const __m128i *)(buf + off + 1)); /* vmovdqu 128 */
  __m128i e = _mm_cmpeq_epi8(l, _mm256_castsi256_si128(k));      /* vpcmpeqb 128 */
  mix((unsigned)_mm_movemask_epi8(_mm_xor_si128(e, l)));         /* vpxor, vpmovmskb 128 */
  mix128(_mm_or_si128(e, _mm256_extracti128_si256(o, 1)));
  _mm256_storeu_si256((__m256i *)(buf + 160 + off % 32), x);  /* vmovdqu store 256 */
  _mm256_store_si256((__m256i *)(buf + 224), o);                  /* vmovdqa store 256 */
  _mm_storeu_si128((__m128i *)(buf + 96 + off % 16), e);          /* vmovdqu store 128 */
  _mm256_zeroupper();
}

int main(void) {
  static char str[300];
  for (int round = 0; round < 6; round++) {
    h = 1469598103934665603ull;
    for (unsigned i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + round);
    for (unsigned rep = 0; rep < 40; rep++)
      for (unsigned off = 0; off < 48; off++) {
        sse(off, (unsigned char)(off * 7 + rep));
        avx(off, (unsigned char)(off * 3 + rep));
        /* glibc's string functions (SSE2, AVX2 and SSE4.2 variants) */
        unsigned len = (off * 5 + rep) % 280;
        memset(str, 'a' + (int)(rep % 26), len);
        str[len] = 0;
        if (len > 3) str[len / 2] = 'z';
        mix(strlen(str + off % 8));
        mix((uint64_t)(strchr(str, 'z') ? strchr(str, 'z') - str : -1));
        mix((uint64_t)(memchr(str, 'z', len) ? (char *)memchr(str, 'z', len) - str : -1));
        mix((uint64_t)strcspn(str, "zq"));
        mix((uint64_t)(strcmp(str, str + 1) < 0));
        mix((uint64_t)(memcmp(str, str + off % 5, len / 2) > 0));
      }
    printf("round %d %016llx\n", round, (unsigned long long)h);
  }
  return 0;
}

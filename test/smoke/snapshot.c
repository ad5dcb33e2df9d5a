/* Wizer smoke test: the table of primes is computed in `wizer.initialize` at build time and
 * lives in the snapshot's memory; run without Wizer, main computes it itself. The initializer
 * also calls WASI (a line on stderr), which Wizer allows only with --allow-wasi. */
#include <stdio.h>
#include <stdlib.h>

#define LIMIT 200000

static unsigned *primes;
static unsigned count;
static int from_snapshot;

static void compute(void) {
  unsigned char *composite = calloc(LIMIT + 1, 1);
  primes = malloc(sizeof *primes * LIMIT / 2);
  for (unsigned i = 2; i <= LIMIT; i++) {
    if (composite[i]) continue;
    primes[count++] = i;
    for (unsigned long j = (unsigned long)i * i; j <= LIMIT; j += i) composite[j] = 1;
  }
  free(composite);
}

__attribute__((export_name("wizer.initialize"))) void init(void) {
  compute();
  from_snapshot = 1;
  fprintf(stderr, "snapshot: initialized, %u primes\n", count);
}

int main(int argc, char **argv) {
  if (!from_snapshot) compute();
  unsigned long sum = 0;
  for (unsigned i = 0; i < count; i++) sum += primes[i];
  printf("primes below %d: %u, sum %lu, last %u\n", LIMIT, count, sum, primes[count - 1]);
  printf("state: %s\n", from_snapshot ? "snapshot" : "computed at run time");
  printf("args: %d\n", argc - 1);
  return 0;
}

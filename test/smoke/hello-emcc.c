/* Emscripten smoke test: runs under Node. */
#include <stdio.h>

int main(int argc, char **argv) {
  unsigned long long f = 1;
  for (int i = 2; i <= 20; i++) f *= (unsigned long long)i;
  printf("hello from emscripten\n");
  printf("20! = %llu\n", f);
  printf("args: %d\n", argc - 1);
  for (int i = 1; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
  return 0;
}

/* Smoke-test guest for the WASI runtimes (wasm32-wasip1).
 *
 *   probe DIR [ARG...]   prints its args and $PROBE_VAR, reads DIR/input.txt, writes
 *                        DIR/output.txt, echoes stdin to stdout, writes a line to stderr and
 *                        exits with $PROBE_EXIT (default 3).
 *   probe --interactive  answers each stdin line at once ("got: LINE", flushed) until "quit".
 *   probe --alloc MB     allocates and touches MB MiB, prints a checksum, exits 0.
 *   probe --trap         executes `unreachable`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int interactive(void) {
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (strcmp(line, "quit") == 0) break;
    printf("got: %s\n", line);
    fflush(stdout);
  }
  printf("bye\n");
  return 0;
}

static int alloc(long mb) {
  size_t n = (size_t)mb << 20;
  unsigned char *p = malloc(n);
  if (!p) {
    fprintf(stderr, "probe: cannot allocate %ld MiB\n", mb);
    return 1;
  }
  for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);
  unsigned long sum = 0;
  for (size_t i = 0; i < n; i += 4096) sum += p[i];
  printf("allocated %ld MiB, checksum %lu\n", mb, sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--interactive") == 0) return interactive();
  if (argc == 3 && strcmp(argv[1], "--alloc") == 0) return alloc(atol(argv[2]));
  if (argc == 2 && strcmp(argv[1], "--trap") == 0) {
    printf("trapping\n");
    fflush(stdout);
    __builtin_trap();
  }
  if (argc < 2) {
    fprintf(stderr, "usage: probe DIR [ARG...]\n");
    return 2;
  }
  printf("argc=%d\n", argc - 1);
  for (int i = 1; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
  const char *v = getenv("PROBE_VAR");
  printf("PROBE_VAR=%s\n", v ? v : "(unset)");

  char path[1024];
  snprintf(path, sizeof path, "%s/input.txt", argv[1]);
  FILE *in = fopen(path, "r");
  if (!in) {
    perror(path);
    return 4;
  }
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, in);
  fclose(in);
  buf[n] = 0;
  printf("input.txt=%s\n", buf);

  snprintf(path, sizeof path, "%s/output.txt", argv[1]);
  FILE *out = fopen(path, "w");
  if (!out) {
    perror(path);
    return 5;
  }
  fprintf(out, "written by probe: %zu bytes read, last arg %s\n", n, argv[argc - 1]);
  if (fclose(out) != 0) {
    perror(path);
    return 6;
  }

  printf("stdin:\n");
  fflush(stdout);
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  printf("end of stdin\n");
  fprintf(stderr, "probe: this goes to stderr\n");
  const char *e = getenv("PROBE_EXIT");
  return e ? atoi(e) : 3;
}

/* Minimal flattened device tree writer. */
#ifndef C2W_FDT_H
#define C2W_FDT_H
#include <stddef.h>
#include <stdint.h>
typedef struct {
  uint8_t st[16384];
  uint32_t st_len;
  char str[4096];
  uint32_t str_len;
} FDT;
void fdt_init(FDT *f);
void fdt_begin(FDT *f, const char *name);
void fdt_end(FDT *f);
void fdt_prop(FDT *f, const char *name, const void *data, uint32_t len);
void fdt_prop_u32(FDT *f, const char *name, uint32_t v);
void fdt_prop_cells(FDT *f, const char *name, const uint32_t *cells, int n);
void fdt_prop_str(FDT *f, const char *name, const char *s);
void fdt_prop_strs(FDT *f, const char *name, const char *const *s, int n); /* string list */
void fdt_prop_empty(FDT *f, const char *name);
/* writes the blob; returns its size or 0 if it does not fit */
size_t fdt_finish(FDT *f, uint8_t *out, size_t cap);
#endif

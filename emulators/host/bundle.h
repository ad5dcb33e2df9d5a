/* The packed module's bundle (docs/contract.md, "The packed module") as the host side of an
 * emulator sees it at resume: the footer, the rootfs as a disk, and the run config message. */
#ifndef C2W_BUNDLE_H
#define C2W_BUNDLE_H
#include <stddef.h>
#include <stdint.h>

#define C2W_BUNDLE_FOOTER_LEN 64
#define C2W_BUNDLE_EXTERNAL 1u

typedef struct {
  int present; /* the footer's magic was found */
  uint32_t flags;
  uint64_t rootfs_off, rootfs_len, config_off, config_len;
} C2wBundle;

/* parses the last 64 bytes of the module's initial memory */
void c2w_bundle_parse(C2wBundle *b, const uint8_t footer[C2W_BUNDLE_FOOTER_LEN]);

typedef int (*C2wDiskRead)(void *opaque, uint64_t off, uint8_t *buf, size_t len);

/* the rootfs as a block device: bytes in linear memory, or rootfs.erofs of the /.c2w-bundle
 * preopen (external bundle), or a file named by path (native runs; NULL otherwise).
 * Sets *size (0: no disk) and *read; returns 0, or -1 after a one-line error on stderr. */
int c2w_bundle_disk(const C2wBundle *b, const char *path, uint64_t *size, C2wDiskRead *read);

/* the run config message sent to the guest's control port at resume: the bundle's packed
 * records, then arg, renv, mount (one per preopen), time, tty and disk records.
 * Returns a malloc'd buffer and sets *len; NULL after a one-line error on stderr. */
uint8_t *c2w_run_config(const uint8_t *packed, size_t packed_len, int argc, char **argv, char **envp,
                        uint64_t disk_size, size_t *len);

#endif

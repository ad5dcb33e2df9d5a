/* virtio-9p: a 9P2000.L server over the host layer's preopened directories. The root is
 * synthetic: entry "0", "1", ... is the n-th preopen (docs/contract.md). */
#ifndef C2W_VIRTIO_9P_H
#define C2W_VIRTIO_9P_H
#include "virtio.h"

#define P9_MAX_FIDS 1024
#define P9_MSIZE (128 * 1024 + 64)

typedef struct {
  uint32_t fid;
  uint8_t used;
  int16_t root; /* -1: synthetic root, else preopen index */
  char *path;   /* relative to the preopen ("." = its root) */
  int fd;       /* open file or directory, -1 */
  void *dir;    /* DIR* while a directory is open */
  uint64_t dir_pos;
} P9Fid;

typedef struct Virtio9P {
  VirtioDevice vdev;
  uint32_t msize;
  P9Fid fids[P9_MAX_FIDS];
  uint8_t req[P9_MSIZE];
  uint8_t resp[P9_MSIZE];
} Virtio9P;

void virtio_9p_init(Virtio9P *p, const VirtioBus *bus, int irq, const char *tag);
/* close every host handle (before a snapshot or at exit) */
void virtio_9p_close_all(Virtio9P *p);
#endif

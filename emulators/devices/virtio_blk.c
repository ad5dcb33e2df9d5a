#include "virtio_blk.h"
#include <string.h>

#define F_SEG_MAX (1ULL << 2)
#define F_RO (1ULL << 5)
#define F_FLUSH (1ULL << 9)

static void notify(VirtioDevice *d, int qi) {
  VirtioBlk *b = (VirtioBlk *)d;
  VirtqElem e;
  if (qi != 0) return;
  while (virtq_pop(d, 0, &e) == 1) {
    uint8_t hdr[16];
    uint8_t status = 0;
    uint32_t written = 0;
    if (e.in_len < 1 || virtq_read(d, &e, 0, hdr, 16) != 16) {
      virtq_push(d, 0, &e, 0);
      continue;
    }
    uint32_t type = get_le32(hdr);
    uint64_t sector = get_le64(hdr + 8);
    uint64_t dlen = e.in_len - 1;
    if (type == 0) { /* IN */
      uint64_t off = sector * 512;
      if (off > b->size || dlen > b->size - off || !b->read) {
        status = 1;
      } else {
        uint64_t pos = 0;
        for (int s = 0; s < e.nin && pos < dlen; s++) {
          uint64_t n = e.in_len_seg[s];
          if (n > dlen - pos) n = dlen - pos;
          uint8_t *p = d->bus->mem(d->bus->opaque, e.in_addr[s], n);
          if (!p || b->read(b->opaque, off + pos, p, (size_t)n)) {
            status = 1;
            break;
          }
          pos += n;
        }
        written = (uint32_t)dlen;
      }
    } else if (type == 4) { /* FLUSH */
      status = 0;
    } else if (type == 8) { /* GET_ID */
      char id[20] = "c2w-rootfs";
      written = (uint32_t)virtq_write(d, &e, 0, id, dlen < 20 ? dlen : 20);
    } else {
      status = 2; /* UNSUPP (read-only device) */
    }
    virtq_write(d, &e, e.in_len - 1, &status, 1);
    virtq_push(d, 0, &e, written + 1);
  }
}

static void set_config(VirtioBlk *b) {
  put_le64(b->vdev.config, (b->size + 511) / 512);
  put_le32(b->vdev.config + 12, VIRTQ_MAX_SEGS - 4); /* seg_max */
}

void virtio_blk_init(VirtioBlk *b, const VirtioBus *bus, int irq) {
  memset(b, 0, sizeof(*b));
  virtio_dev_init(&b->vdev, bus, irq, VIRTIO_ID_BLOCK, 1, F_RO | F_SEG_MAX | F_FLUSH, 60);
  b->vdev.notify = notify;
  set_config(b);
}

void virtio_blk_set_backing(VirtioBlk *b, uint64_t size, int (*read)(void *, uint64_t, uint8_t *, size_t), void *opaque) {
  b->size = size;
  b->read = read;
  b->opaque = opaque;
  set_config(b);
  virtio_dev_config_changed(&b->vdev);
}

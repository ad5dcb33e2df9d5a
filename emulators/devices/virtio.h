/* Shared virtio device library: virtqueues and device state, independent of the transport.
 * Transports (virtio_mmio.c; a PCI transport can sit next to it) call virtio_dev_* to access
 * registers and the device's config; devices use virtq_* to move buffers.
 * All state is plain data (no host pointers besides the bus callbacks set at init), so it can
 * live in a Wizer snapshot. */
#ifndef C2W_VIRTIO_H
#define C2W_VIRTIO_H
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_QUEUE_MAX 256
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_9P 9

typedef struct VirtioBus {
  void *opaque;
  /* host pointer to guest physical memory [gpa, gpa+len), or NULL */
  uint8_t *(*mem)(void *opaque, uint64_t gpa, uint64_t len);
  /* interrupt line of a device (transport-specific number) */
  void (*set_irq)(void *opaque, int irq, int level);
} VirtioBus;

typedef struct {
  uint32_t num, ready;
  uint64_t desc, avail, used;
  uint16_t last_avail;
} VirtQueue;

#define VIRTQ_MAX_SEGS 64
typedef struct {
  uint16_t head;
  int nout, nin;                 /* readable (driver->device) and writable segments */
  uint64_t out_addr[VIRTQ_MAX_SEGS], in_addr[VIRTQ_MAX_SEGS];
  uint32_t out_len_seg[VIRTQ_MAX_SEGS], in_len_seg[VIRTQ_MAX_SEGS];
  uint64_t out_len, in_len;      /* totals */
} VirtqElem;

typedef struct VirtioDevice VirtioDevice;
struct VirtioDevice {
  uint32_t device_id, vendor_id;
  uint64_t host_features, driver_features;
  uint32_t status, isr, config_gen;
  int nqueues;
  VirtQueue q[VIRTIO_MAX_QUEUES];
  uint32_t config_len;
  uint8_t config[256];
  const VirtioBus *bus;
  int irq;
  /* transport registers (selectors) */
  uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
  /* device hooks */
  void (*notify)(VirtioDevice *d, int q);
  void (*reset)(VirtioDevice *d);
  void (*config_written)(VirtioDevice *d);
  void (*driver_ok)(VirtioDevice *d);
};

void virtio_dev_init(VirtioDevice *d, const VirtioBus *bus, int irq, uint32_t device_id, int nqueues,
                     uint64_t features, uint32_t config_len);
void virtio_dev_reset(VirtioDevice *d);
void virtio_dev_update_irq(VirtioDevice *d);
void virtio_dev_config_changed(VirtioDevice *d);

/* queues */
int virtq_ready(VirtioDevice *d, int qi);
int virtq_avail(VirtioDevice *d, int qi);              /* buffers waiting */
int virtq_pop(VirtioDevice *d, int qi, VirtqElem *e);  /* 1 got one, 0 none, -1 broken ring */
size_t virtq_read(VirtioDevice *d, const VirtqElem *e, size_t off, void *buf, size_t len);
size_t virtq_write(VirtioDevice *d, const VirtqElem *e, size_t off, const void *buf, size_t len);
void virtq_push(VirtioDevice *d, int qi, const VirtqElem *e, uint32_t written); /* + interrupt */

/* helpers for little-endian fields */
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_le32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline uint64_t get_le64(const uint8_t *p) { return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32); }

#endif

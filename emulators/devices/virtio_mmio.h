/* virtio-mmio transport (version 2) over a VirtioDevice. */
#ifndef C2W_VIRTIO_MMIO_H
#define C2W_VIRTIO_MMIO_H
#include "virtio.h"
#define VIRTIO_MMIO_SIZE 0x1000
uint32_t virtio_mmio_read(VirtioDevice *d, uint32_t off, int size);
void virtio_mmio_write(VirtioDevice *d, uint32_t off, uint32_t val, int size);
#endif

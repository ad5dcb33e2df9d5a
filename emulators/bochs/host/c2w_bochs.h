// Interfaces between the files of the c2w host layer for Bochs (host/*.cc). Who owns what:
//   c2w_host.cc    entry points (main, wizer.initialize, c2w_resume), options, CPU loop driver
//   linux_boot.cc  direct Linux boot (x86 boot protocol) into guest RAM
//   virtio_bus.cc  the contract's virtio devices on Bochs' memory bus, their IRQs, stdin pump
#ifndef C2W_BOCHS_H
#define C2W_BOCHS_H
#include <stddef.h>
#include <stdint.h>
#include <string>

extern "C" {
#include "bundle.h"
}

// linux_boot.cc: places bzImage, initramfs and boot_params and sets the CPU at the 32-bit
// entry. Errors are one line on stderr and exit(125).
void c2w_linux_boot(const std::string &kernel, const std::string &initrd, const std::string &cmdline,
                    unsigned mem_mb);

// virtio_bus.cc
void c2w_virtio_init(void);                  // registers devices and the pump timer
std::string c2w_virtio_kernel_params(void);  // virtio_mmio.device=... for the command line
bool c2w_virtio_ready(void);                 // init sent ready=1
int c2w_virtio_exit_code(void);              // init sent exit=N, else -1
void c2w_virtio_set_disk(uint64_t size, C2wDiskRead read);
void c2w_virtio_send_ctl(const uint8_t *msg, size_t len);
void c2w_virtio_enable_stdin(bool tty);

// c2w_host.cc: makes cpu_loop return at the next instruction boundary
void c2w_stop_cpu(void);

#endif

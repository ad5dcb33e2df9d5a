/* Host layer shared by the emulators: stdio, clock, stdin polling, preopened directories,
 * entropy. One implementation (host_posix.c) for native Linux and wasm32-wasi (wasi-libc);
 * an emscripten build can provide the same functions. Nothing here keeps host state that
 * must survive a Wizer snapshot: host_reopen() re-creates it at resume. */
#ifndef C2W_HOST_H
#define C2W_HOST_H
#include <stddef.h>
#include <stdint.h>

#define HOST_MAX_PREOPENS 32

/* (re)initialise the host state: stdio modes, clock origin, preopen table.
 * native: dirs are "HOST::GUEST" strings; wasi: ignored, the runtime's preopens are enumerated. */
int host_reopen(int ndirs, char **dirs);

/* stdio */
int host_stdin_isatty(void);
/* wait up to timeout_ns for stdin to be readable; 1 readable (or EOF pending), 0 timeout */
int host_stdin_wait(uint64_t timeout_ns);
/* read what is available: >0 bytes, 0 nothing now, -1 end of file */
long host_stdin_read(uint8_t *buf, size_t len);
void host_write_out(int fd, const uint8_t *buf, size_t len); /* fd 1 or 2, all bytes */
void host_sleep_ns(uint64_t ns);

/* clocks */
uint64_t host_monotonic_ns(void);
uint64_t host_realtime_ns(void);

/* entropy */
void host_random(uint8_t *buf, size_t len);

/* preopened directories, in the runtime's order */
int host_preopen_count(void);
int host_preopen_fd(int i); /* directory fd usable with the *at() calls */
const char *host_preopen_guest_path(int i);
/* the preopen whose guest path is /.c2w-bundle (external bundle), not in the list above; -1 if none */
int host_bundle_dir_fd(void);

#endif

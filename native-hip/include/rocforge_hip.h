/* rocforge_hip.h: the C ABI of librocforge_hip.so, the host side of the native HIP engine.
 *
 * The TypeScript backend (src/backends/hip/) loads the library with koffi and drives it through
 * these functions only. Everything is plain C types so that the FFI declarations stay trivial:
 * buffers are u32 handles (never reused within a process, so a captured graph cannot silently
 * point at a recycled allocation), streams and graphs are opaque pointers.
 *
 * Every function returning int returns an RF_* code; on failure rf_last_error() says what went
 * wrong in one line (for a failed launch: which kernel, which record, and HIP's own message).
 *
 * A forward pass travels as ONE packed command list (see "Command list" below) submitted with
 * rf_submit, or captured into / replayed from a graph, instead of one FFI call per kernel.
 */
#ifndef ROCFORGE_HIP_H
#define ROCFORGE_HIP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature or the command-list format changes; the TS side refuses others. */
#define RF_ABI_VERSION 1

enum rf_status {
  RF_OK = 0,
  RF_ERR_OOM = 1,            /* a device or pinned-host allocation ran out of memory */
  RF_ERR_INVALID = 2,        /* bad argument or malformed command list (nothing was launched) */
  RF_ERR_LAUNCH = 3,         /* a kernel launch failed; rf_last_error names the kernel */
  RF_ERR_DEVICE = 4,         /* any other runtime failure (a fault while running: the device is unusable) */
  RF_ERR_NO_DEVICE = 5,      /* no GPU visible to the runtime */
  RF_ERR_NO_KERNEL_IMAGE = 6,/* the library was not built for this GPU's architecture */
  RF_ERR_NOT_INIT = 7        /* rf_init was not called (or failed) */
};

/* ---- library and device */

int rf_abi_version(void);
/* Targets and compiler the library was built with, e.g. "nvcc 13.0 sm_90" (static string). */
const char* rf_build_info(void);
/* Copies the last error message (NUL-terminated, truncated to cap) into buf; returns its full length. */
uint32_t rf_last_error(char* buf, uint32_t cap);

typedef struct rf_device_info {
  char name[256];
  char arch[64];            /* "gfx90a", "gfx1100", "sm_90" */
  char platform[16];        /* "amd" or "nvidia" */
  uint64_t total_bytes;
  uint64_t free_bytes;
  int32_t warp_size;        /* 32 or 64: kernels never assume one */
  int32_t multiprocessors;
  int32_t device_index;
  int32_t device_count;
  int32_t runtime_version;
  int32_t driver_version;
} rf_device_info;

/* Selects the device (index; -1 = 0), checks that this build has code for it by running a probe
 * kernel, and returns RF_OK. Idempotent for the same index; another index is RF_ERR_INVALID. */
int rf_init(int32_t device);
/* Properties of the initialised device; free_bytes is measured now. */
int rf_device_info_get(rf_device_info* out);

/* ---- streams (one per backend instance; all work of an instance is ordered on it) */

typedef struct rf_stream rf_stream;
int rf_stream_create(rf_stream** out);
int rf_stream_destroy(rf_stream* s);
/* Blocks until everything enqueued on the stream has run; returns the first fault seen. */
int rf_stream_sync(rf_stream* s);
/* 1: synchronize after every launch of rf_submit so that a fault names its kernel (debugging). */
int rf_stream_set_debug_sync(rf_stream* s, int32_t on);
/* 1: time every launch of the following submits (events around each); see rf_profile_take. */
int rf_stream_set_profile(rf_stream* s, int32_t on);

/* ---- buffers (device memory) */

/* Allocates bytes (at least 4) and returns its handle; RF_ERR_OOM when memory ran out. */
int rf_alloc(uint64_t bytes, uint32_t* handle);
/* Frees the buffer now (the caller makes sure no enqueued work still uses it). */
int rf_free(uint32_t handle);
/* Copies bytes from host memory into the buffer at offset after the stream's earlier work;
 * returns once the host memory may be reused (it waits for the copy). */
int rf_upload(rf_stream* s, uint32_t handle, uint64_t offset, const void* src, uint64_t bytes);
/* Copies bytes of the buffer into host memory after the stream's earlier work and waits for it. */
int rf_download(rf_stream* s, uint32_t handle, uint64_t offset, void* dst, uint64_t bytes);
/* Sets bytes of the buffer to value (a byte) after the stream's earlier work, without waiting. */
int rf_memset(rf_stream* s, uint32_t handle, uint64_t offset, uint32_t value, uint64_t bytes);

/* Reads without blocking the caller's thread while the GPU works: rf_read_begin enqueues a copy
 * into pinned memory and returns a ticket; rf_read_wait (may run on another thread) blocks until
 * it has landed; rf_read_take copies it out and releases the ticket. A ticket whose wait failed
 * must still be taken (dst may be NULL) to release it. */
int rf_read_begin(rf_stream* s, uint32_t handle, uint64_t offset, uint64_t bytes, uint32_t* ticket);
int rf_read_wait(uint32_t ticket);
int rf_read_take(uint32_t ticket, void* dst, uint64_t bytes);

/* ---- kernels: the table of rf_k_* entries compiled into this build, sorted by name */

uint32_t rf_kernel_count(void);
/* The kernel's file stem ("matvec_q8_exact"), or NULL past the end. */
const char* rf_kernel_name(uint32_t index);

/* ---- Command list
 *
 * A sequence of records of 32-bit words. Every record starts with a header word
 *   op | (length_in_words << 8)
 * so a decoder can check and skip it. Records:
 *
 * RF_OP_LAUNCH (length 11 + n_params + n_bufs):
 *   [1] kernel index (rf_kernel_name)   [2..4] groups x, y, z   [5] wg (0 = the kernel's own)
 *   [6] dequant (GgmlType id or 0)      [7] variant              [8] reduce (1 = warp ops)
 *   [9] n_params  [10] n_bufs (<= 8)    then n_params words of Params (u32 or f32 bits)
 *   then n_bufs buffer handles (bindings 1..n in order).
 * RF_OP_WRITE (length 6): copy host bytes from the submit's data words into a buffer:
 *   [1] handle  [2] offset low  [3] offset high  [4] bytes  [5] first word in data[]
 * RF_OP_MEMSET (length 6):
 *   [1] handle  [2] offset low  [3] offset high  [4] bytes  [5] byte value
 *
 * The list is validated as a whole before anything runs (RF_ERR_INVALID says which record is
 * bad). Write data lives apart from the records so that two forward passes that differ only in
 * their inputs (token ids, positions) have identical records and can share one graph.
 */
enum rf_op { RF_OP_LAUNCH = 1, RF_OP_WRITE = 2, RF_OP_MEMSET = 3 };
#define RF_MAX_BUFS 8

/* Runs the list now (launches in order on the stream, no waiting). */
int rf_submit(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata);

/* ---- graphs: a list captured once and replayed with new write data */

typedef struct rf_graph rf_graph;
/* Captures the list into a new graph (nothing runs while capturing), instantiates it and launches
 * it once, so the call does the work of rf_submit too. */
int rf_graph_capture(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata, rf_graph** out);
/* Re-captures a different list of the same shape into g (kernel parameters or buffers changed) and
 * updates g's executable in place, or re-instantiates it when the update is refused; then launches. */
int rf_graph_update(rf_graph* g, rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata);
/* Replays g on s with new write data (ndata must equal the captured list's). */
int rf_graph_launch(rf_graph* g, rf_stream* s, const uint32_t* data, uint32_t ndata);
int rf_graph_destroy(rf_graph* g);

/* ---- profiling (rf_stream_set_profile): per-launch GPU times of the submits since the last take */

/* Writes up to cap (kernel index, microseconds as f32 bits) pairs into out, after waiting for the
 * stream, and returns how many launches were timed (graph replays are not timed per launch). */
int rf_profile_take(rf_stream* s, uint32_t* out, uint32_t cap, uint32_t* count);

#ifdef __cplusplus
}
#endif

#endif /* ROCFORGE_HIP_H */

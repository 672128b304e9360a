// librocforge_hip: device selection, errors, streams, buffers and reads (the C ABI of
// include/rocforge_hip.h; command lists and graphs are in submit.cpp).
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "internal.h"

#ifndef RF_BUILD_INFO
#define RF_BUILD_INFO "unknown build"
#endif

namespace {

std::mutex g_error_mutex;
std::string g_error = "no error";

std::mutex g_init_mutex;
bool g_init = false;
int g_device = -1;
int g_warp = 0;

std::mutex g_buffer_mutex;
std::unordered_map<uint32_t, rf_buffer> g_buffers;
uint32_t g_next_handle = 1;  // never reused: a graph can never point at a recycled handle

struct read_slot {
  rf_pinned mem;
  bool busy = false;
  uint64_t bytes = 0;
};
std::mutex g_read_mutex;
std::vector<std::unique_ptr<read_slot>> g_reads;

}  // namespace

// The probe checks that this build has code for the device and what the device's warp width is.
__global__ void rf_probe_kernel(int* out) { out[0] = warpSize; }

int rf_fail(int code, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::lock_guard<std::mutex> lock(g_error_mutex);
  g_error = buf;
  return code;
}

int rf_fail_hip(hipError_t e, const char* what) {
  int code = RF_ERR_DEVICE;
  if (e == hipErrorOutOfMemory) code = RF_ERR_OOM;
  else if (e == RF_NO_BINARY_FOR_GPU) code = RF_ERR_NO_KERNEL_IMAGE;
  else if (e == hipErrorInvalidValue) code = RF_ERR_INVALID;
  // Out of memory and invalid values are not sticky; clear them so the next call starts clean.
  if (code == RF_ERR_OOM || code == RF_ERR_INVALID) (void)hipGetLastError();
  return rf_fail(code, "%s: %s (%s)", what, hipGetErrorString(e), hipGetErrorName(e));
}

bool rf_initialised() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  return g_init;
}

int rf_device_index() { return g_device; }

bool rf_buffer_find_locked(uint32_t handle, rf_buffer* out) {
  auto it = g_buffers.find(handle);
  if (it == g_buffers.end()) return false;
  *out = it->second;
  return true;
}

std::mutex& rf_buffer_mutex() { return g_buffer_mutex; }

bool rf_buffer_find(uint32_t handle, rf_buffer* out) {
  std::lock_guard<std::mutex> lock(g_buffer_mutex);
  return rf_buffer_find_locked(handle, out);
}

int rf_pinned_reserve(rf_pinned* p, uint64_t bytes) {
  if (p->pending) {
    hipError_t e = hipEventSynchronize(p->done);
    p->pending = false;
    if (e != hipSuccess) return rf_fail_hip(e, "waiting for pinned staging memory");
  }
  if (!p->done) {
    hipError_t e = hipEventCreateWithFlags(&p->done, hipEventDisableTiming);
    if (e != hipSuccess) return rf_fail_hip(e, "creating an event");
  }
  if (bytes <= p->cap) return RF_OK;
  if (p->host) (void)hipHostFree(p->host);
  p->host = nullptr;
  p->cap = 0;
  // Grow geometrically: staging is resized rarely and then reused for every submit.
  uint64_t cap = 64 * 1024;
  while (cap < bytes) cap *= 2;
  void* h = nullptr;
  hipError_t e = hipHostMalloc(&h, cap, 0);
  if (e != hipSuccess) return rf_fail_hip(e, "allocating pinned host memory");
  p->host = static_cast<uint8_t*>(h);
  p->cap = cap;
  return RF_OK;
}

void rf_pinned_release(rf_pinned* p) {
  if (p->pending) (void)hipEventSynchronize(p->done);
  if (p->host) (void)hipHostFree(p->host);
  if (p->done) (void)hipEventDestroy(p->done);
  *p = rf_pinned{};
}

extern "C" {

int rf_abi_version(void) { return RF_ABI_VERSION; }

const char* rf_build_info(void) { return RF_BUILD_INFO; }

uint32_t rf_last_error(char* buf, uint32_t cap) {
  std::lock_guard<std::mutex> lock(g_error_mutex);
  if (buf && cap > 0) {
    size_t n = g_error.size() < cap - 1 ? g_error.size() : cap - 1;
    memcpy(buf, g_error.data(), n);
    buf[n] = 0;
  }
  return static_cast<uint32_t>(g_error.size());
}

int rf_init(int32_t device) {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  int want = device < 0 ? 0 : device;
  if (g_init) {
    if (want == g_device) return RF_OK;
    return rf_fail(RF_ERR_INVALID, "rf_init: device %d requested but device %d is already in use by this process", want, g_device);
  }
  int count = 0;
  hipError_t e = hipGetDeviceCount(&count);
  if (e != hipSuccess || count == 0) {
    const char* why = e != hipSuccess ? hipGetErrorString(e) : "the runtime sees no devices";
    (void)hipGetLastError();
    return rf_fail(RF_ERR_NO_DEVICE, "no GPU found (%s)", why);
  }
  if (want >= count) return rf_fail(RF_ERR_INVALID, "rf_init: device %d requested but only %d present", want, count);
  if ((e = hipSetDevice(want)) != hipSuccess) return rf_fail_hip(e, "selecting the device");

  // One tiny kernel: fails with "no kernel image" when the build has no code for this GPU.
  int* d = nullptr;
  if ((e = hipMalloc(reinterpret_cast<void**>(&d), sizeof(int))) != hipSuccess) return rf_fail_hip(e, "allocating the probe buffer");
  rf_probe_kernel<<<1, 1>>>(d);
  e = hipGetLastError();
  if (e == hipSuccess) e = hipDeviceSynchronize();
  int warp = 0;
  if (e == hipSuccess) e = hipMemcpy(&warp, d, sizeof(int), hipMemcpyDeviceToHost);
  (void)hipFree(d);
  if (e != hipSuccess) {
    int code = rf_fail_hip(e, "running the probe kernel");
    if (code == RF_ERR_NO_KERNEL_IMAGE) {
      rf_device_info info;
      g_device = want;  // for the arch name below
      g_init = true;
      rf_device_info_get(&info);
      g_init = false;
      g_device = -1;
      return rf_fail(RF_ERR_NO_KERNEL_IMAGE, "the HIP library was built for %s but this GPU is %s (%s): rebuild it for this GPU (npm run build:hip, see native-hip/README.md)",
                     RF_BUILD_INFO, info.arch, info.name);
    }
    return code;
  }
  g_device = want;
  g_warp = warp;
  g_init = true;
  return RF_OK;
}

int rf_device_info_get(rf_device_info* out) {
  if (!g_init) return rf_fail(RF_ERR_NOT_INIT, "rf_device_info_get: rf_init has not succeeded");
  memset(out, 0, sizeof *out);
  hipDeviceProp_t p;
  hipError_t e = hipGetDeviceProperties(&p, g_device);
  if (e != hipSuccess) return rf_fail_hip(e, "reading the device properties");
  snprintf(out->name, sizeof out->name, "%s", p.name);
#if RF_CUDA
  snprintf(out->arch, sizeof out->arch, "sm_%d%d", p.major, p.minor);
  snprintf(out->platform, sizeof out->platform, "nvidia");
#else
  // gcnArchName carries feature flags ("gfx90a:sramecc+:xnack-"): keep the processor name.
  snprintf(out->arch, sizeof out->arch, "%s", p.gcnArchName);
  char* colon = strchr(out->arch, ':');
  if (colon) *colon = 0;
  snprintf(out->platform, sizeof out->platform, "amd");
#endif
  size_t free_b = 0, total_b = 0;
  if ((e = hipMemGetInfo(&free_b, &total_b)) != hipSuccess) return rf_fail_hip(e, "reading the free memory");
  out->total_bytes = total_b;
  out->free_bytes = free_b;
  out->warp_size = g_warp ? g_warp : p.warpSize;
  out->multiprocessors = p.multiProcessorCount;
  out->device_index = g_device;
  int count = 0;
  (void)hipGetDeviceCount(&count);
  out->device_count = count;
  (void)hipRuntimeGetVersion(&out->runtime_version);
  (void)hipDriverGetVersion(&out->driver_version);
  return RF_OK;
}

int rf_stream_create(rf_stream** out) {
  if (!rf_initialised()) return rf_fail(RF_ERR_NOT_INIT, "rf_stream_create: rf_init has not succeeded");
  auto s = std::make_unique<rf_stream>();
  // Non-blocking: never implicitly ordered with the legacy default stream (other libraries' work).
  hipError_t e = hipStreamCreateWithFlags(&s->stream, hipStreamNonBlocking);
  if (e != hipSuccess) return rf_fail_hip(e, "creating a stream");
  *out = s.release();
  return RF_OK;
}

int rf_stream_destroy(rf_stream* s) {
  if (!s) return RF_OK;
  hipError_t e = hipStreamSynchronize(s->stream);
  for (auto& p : s->staging) rf_pinned_release(&p);
  for (auto& r : s->profile_recs) {
    (void)hipEventDestroy(r.start);
    (void)hipEventDestroy(r.end);
  }
  for (auto ev : s->event_pool) (void)hipEventDestroy(ev);
  (void)hipStreamDestroy(s->stream);
  delete s;
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "finishing the stream's work before destroying it");
}

int rf_stream_sync(rf_stream* s) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_stream_sync: null stream");
  (void)hipSetDevice(g_device);  // may run on a worker thread
  hipError_t e = hipStreamSynchronize(s->stream);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "a kernel failed while running (set ROCFORGE_HIP_SYNC=1 to name it)");
}

int rf_stream_set_debug_sync(rf_stream* s, int32_t on) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_stream_set_debug_sync: null stream");
  s->debug_sync = on != 0;
  return RF_OK;
}

int rf_stream_set_profile(rf_stream* s, int32_t on) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_stream_set_profile: null stream");
  s->profile = on != 0;
  return RF_OK;
}

int rf_alloc(uint64_t bytes, uint32_t* handle) {
  if (!rf_initialised()) return rf_fail(RF_ERR_NOT_INIT, "rf_alloc: rf_init has not succeeded");
  uint64_t size = bytes < 4 ? 4 : (bytes + 3) & ~uint64_t(3);
  void* p = nullptr;
  hipError_t e = hipMalloc(&p, size);
  if (e != hipSuccess) {
    size_t free_b = 0, total_b = 0;
    (void)hipGetLastError();
    (void)hipMemGetInfo(&free_b, &total_b);
    int code = rf_fail_hip(e, "hipMalloc");
    if (code == RF_ERR_OOM) {
      return rf_fail(RF_ERR_OOM, "out of memory allocating %.1f MiB on the GPU (%.1f of %.1f MiB free)", size / 1048576.0, free_b / 1048576.0,
                     total_b / 1048576.0);
    }
    return code;
  }
  std::lock_guard<std::mutex> lock(g_buffer_mutex);
  uint32_t h = g_next_handle++;
  g_buffers[h] = rf_buffer{static_cast<uint8_t*>(p), size};
  *handle = h;
  return RF_OK;
}

int rf_free(uint32_t handle) {
  rf_buffer b;
  {
    std::lock_guard<std::mutex> lock(g_buffer_mutex);
    if (!rf_buffer_find_locked(handle, &b)) return rf_fail(RF_ERR_INVALID, "rf_free: unknown buffer handle %u", handle);
    g_buffers.erase(handle);
  }
  hipError_t e = hipFree(b.ptr);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "hipFree");
}

static int checked_range(rf_stream* s, uint32_t handle, uint64_t offset, uint64_t bytes, const char* what, rf_buffer* b) {
  if (!s) return rf_fail(RF_ERR_INVALID, "%s: null stream", what);
  if (!rf_buffer_find(handle, b)) return rf_fail(RF_ERR_INVALID, "%s: unknown buffer handle %u", what, handle);
  if (offset > b->size || bytes > b->size - offset) {
    return rf_fail(RF_ERR_INVALID, "%s: bytes %llu..%llu outside buffer %u of %llu bytes", what, (unsigned long long)offset,
                   (unsigned long long)(offset + bytes), handle, (unsigned long long)b->size);
  }
  return RF_OK;
}

int rf_upload(rf_stream* s, uint32_t handle, uint64_t offset, const void* src, uint64_t bytes) {
  rf_buffer b;
  int rc = checked_range(s, handle, offset, bytes, "rf_upload", &b);
  if (rc != RF_OK || bytes == 0) return rc;
  // Pageable source: the copy is ordered on the stream and waited for, so the caller's memory
  // can be reused on return (uploads are weights and large tensors, not per-step inputs).
  hipError_t e = hipMemcpyAsync(b.ptr + offset, src, bytes, hipMemcpyHostToDevice, s->stream);
  if (e == hipSuccess) e = hipStreamSynchronize(s->stream);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "uploading to the GPU");
}

int rf_download(rf_stream* s, uint32_t handle, uint64_t offset, void* dst, uint64_t bytes) {
  rf_buffer b;
  int rc = checked_range(s, handle, offset, bytes, "rf_download", &b);
  if (rc != RF_OK || bytes == 0) return rc;
  hipError_t e = hipMemcpyAsync(dst, b.ptr + offset, bytes, hipMemcpyDeviceToHost, s->stream);
  if (e == hipSuccess) e = hipStreamSynchronize(s->stream);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "downloading from the GPU");
}

int rf_memset(rf_stream* s, uint32_t handle, uint64_t offset, uint32_t value, uint64_t bytes) {
  rf_buffer b;
  int rc = checked_range(s, handle, offset, bytes, "rf_memset", &b);
  if (rc != RF_OK || bytes == 0) return rc;
  hipError_t e = hipMemsetAsync(b.ptr + offset, static_cast<int>(value & 0xff), bytes, s->stream);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "hipMemsetAsync");
}

int rf_read_begin(rf_stream* s, uint32_t handle, uint64_t offset, uint64_t bytes, uint32_t* ticket) {
  rf_buffer b;
  int rc = checked_range(s, handle, offset, bytes, "rf_read_begin", &b);
  if (rc != RF_OK) return rc;
  std::lock_guard<std::mutex> lock(g_read_mutex);
  // A free slot that is large enough, else any free slot (grown), else a new one.
  size_t pick = g_reads.size();
  for (size_t i = 0; i < g_reads.size(); i++) {
    if (g_reads[i]->busy) continue;
    if (pick == g_reads.size()) pick = i;
    if (g_reads[i]->mem.cap >= bytes) {
      pick = i;
      break;
    }
  }
  if (pick == g_reads.size()) g_reads.push_back(std::make_unique<read_slot>());
  read_slot& slot = *g_reads[pick];
  if ((rc = rf_pinned_reserve(&slot.mem, bytes)) != RF_OK) return rc;
  hipError_t e = hipSuccess;
  if (bytes > 0) e = hipMemcpyAsync(slot.mem.host, b.ptr + offset, bytes, hipMemcpyDeviceToHost, s->stream);
  if (e == hipSuccess) e = hipEventRecord(slot.mem.done, s->stream);
  if (e != hipSuccess) return rf_fail_hip(e, "enqueueing a read");
  slot.mem.pending = true;
  slot.busy = true;
  slot.bytes = bytes;
  *ticket = static_cast<uint32_t>(pick + 1);
  return RF_OK;
}

static read_slot* ticket_slot(uint32_t ticket) {
  if (ticket == 0 || ticket > g_reads.size() || !g_reads[ticket - 1]->busy) return nullptr;
  return g_reads[ticket - 1].get();
}

int rf_read_wait(uint32_t ticket) {
  hipEvent_t ev;
  {
    std::lock_guard<std::mutex> lock(g_read_mutex);
    read_slot* slot = ticket_slot(ticket);
    if (!slot) return rf_fail(RF_ERR_INVALID, "rf_read_wait: unknown read ticket %u", ticket);
    ev = slot->mem.done;
  }
  // Unlocked: this is the long wait, often on a worker thread while the caller enqueues more.
  (void)hipSetDevice(g_device);
  hipError_t e = hipEventSynchronize(ev);
  return e == hipSuccess ? RF_OK : rf_fail_hip(e, "a kernel failed while running (set ROCFORGE_HIP_SYNC=1 to name it)");
}

int rf_read_take(uint32_t ticket, void* dst, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(g_read_mutex);
  read_slot* slot = ticket_slot(ticket);
  if (!slot) return rf_fail(RF_ERR_INVALID, "rf_read_take: unknown read ticket %u", ticket);
  hipError_t e = hipEventSynchronize(slot->mem.done);
  slot->mem.pending = false;
  slot->busy = false;
  if (e != hipSuccess) return rf_fail_hip(e, "a kernel failed while running (set ROCFORGE_HIP_SYNC=1 to name it)");
  if (dst && bytes > 0) memcpy(dst, slot->mem.host, bytes < slot->bytes ? bytes : slot->bytes);
  return RF_OK;
}

}  // extern "C"

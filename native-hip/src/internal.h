// Shared state of the host library (runtime.cpp: device, errors, buffers, reads; submit.cpp:
// command lists, graphs, profiling). Written against HIP's names; rf_hip.h maps them for nvcc.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "rf_launch.h"
#include "rocforge_hip.h"

// What rf_hip.h does not map because the two runtimes' signatures differ.
#if RF_CUDA
#define RF_NO_BINARY_FOR_GPU cudaErrorNoKernelImageForDevice
static inline hipError_t rf_graph_exec_update(hipGraphExec_t exec, hipGraph_t graph) {
  cudaGraphExecUpdateResultInfo info;
  return cudaGraphExecUpdate(exec, graph, &info);
}
#else
#define RF_NO_BINARY_FOR_GPU hipErrorNoBinaryForGpu
static inline hipError_t rf_graph_exec_update(hipGraphExec_t exec, hipGraph_t graph) {
  hipGraphNode_t node;
  hipGraphExecUpdateResult result;
  return hipGraphExecUpdate(exec, graph, &node, &result);
}
#endif

// ---- errors (one message for the process: the TS side reads it right after a failed call)

// Formats the message and returns code, so callers write `return rf_fail(RF_ERR_X, "...", ...)`.
int rf_fail(int code, const char* fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
// Maps a runtime error to an RF_* code (OOM, missing binary, device) and records "what: message".
int rf_fail_hip(hipError_t e, const char* what);

// ---- device

bool rf_initialised();
int rf_device_index();

// ---- buffers

struct rf_buffer {
  uint8_t* ptr;
  uint64_t size;
};
// Looks up a live buffer; false when the handle is unknown. Takes the table lock.
bool rf_buffer_find(uint32_t handle, rf_buffer* out);
// The table lock, for callers that resolve many handles at once (rf_buffer_find_locked).
std::mutex& rf_buffer_mutex();
bool rf_buffer_find_locked(uint32_t handle, rf_buffer* out);

// ---- pinned host memory

struct rf_pinned {
  uint8_t* host = nullptr;
  uint64_t cap = 0;
  hipEvent_t done = nullptr;  // recorded after the last work that reads or writes `host`
  bool pending = false;
};
// Waits for the region's last use, then makes sure it holds at least bytes.
int rf_pinned_reserve(rf_pinned* p, uint64_t bytes);
void rf_pinned_release(rf_pinned* p);

// ---- streams

struct rf_profile_rec {
  uint32_t kernel;
  hipEvent_t start;
  hipEvent_t end;
};

struct rf_stream {
  hipStream_t stream = nullptr;
  // Write data of eager submits alternates between two regions, so that filling one never waits
  // for more than the submit before last.
  rf_pinned staging[2];
  int next_staging = 0;
  bool debug_sync = false;
  bool profile = false;
  std::vector<rf_profile_rec> profile_recs;
  std::vector<hipEvent_t> event_pool;
};

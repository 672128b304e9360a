// Command lists: validation, launches, graph capture/update/replay and per-launch profiling.
// The record format is documented in include/rocforge_hip.h ("Command list").
#include <cstring>

#include "internal.h"
#include "kernel_table.h"

namespace {

// A validated record: what enqueue() needs, with buffer handles already resolved to pointers
// (so the table lock is taken once per list, not per launch).
struct decoded {
  uint32_t op;
  uint32_t at;        // word index of the record's header, for messages
  const uint32_t* w;  // the record's words
  uint8_t* ptr;       // WRITE / MEMSET: destination (buffer + offset)
  uint64_t bytes;     // WRITE / MEMSET
  void* bufs[RF_MAX_BUFS];
};

const uint32_t LAUNCH_FIXED = 11;

int bad(uint32_t at, const char* why) { return rf_fail(RF_ERR_INVALID, "command list: record at word %u: %s", at, why); }

int validate(const uint32_t* cmds, uint32_t ncmds, uint32_t ndata, std::vector<decoded>& out) {
  out.clear();
  std::lock_guard<std::mutex> lock(rf_buffer_mutex());
  uint32_t at = 0;
  while (at < ncmds) {
    const uint32_t* w = cmds + at;
    uint32_t op = w[0] & 0xff;
    uint32_t len = w[0] >> 8;
    if (len < 2 || len > ncmds - at) return bad(at, "length runs past the end of the list");
    decoded d{};
    d.op = op;
    d.at = at;
    d.w = w;
    if (op == RF_OP_LAUNCH) {
      if (len < LAUNCH_FIXED) return bad(at, "launch record too short");
      if (w[1] >= rf_kernel_table_size) return bad(at, "kernel index past the kernel table");
      uint32_t np = w[9], nb = w[10];
      if (nb > RF_MAX_BUFS) return bad(at, "more than 8 buffers");
      if (uint64_t(LAUNCH_FIXED) + np + nb != len) return bad(at, "length does not match its params and buffers");
      for (uint32_t i = 0; i < nb; i++) {
        rf_buffer b;
        if (!rf_buffer_find_locked(w[LAUNCH_FIXED + np + i], &b)) {
          return rf_fail(RF_ERR_INVALID, "command list: kernel %s (record at word %u): binding %u is buffer %u, which is not allocated (freed?)",
                         rf_kernel_table[w[1]].name, at, i + 1, w[LAUNCH_FIXED + np + i]);
        }
        d.bufs[i] = b.ptr;
      }
    } else if (op == RF_OP_WRITE || op == RF_OP_MEMSET) {
      if (len != 6) return bad(at, "write/memset record must be 6 words");
      rf_buffer b;
      if (!rf_buffer_find_locked(w[1], &b)) return bad(at, "unknown buffer handle");
      uint64_t off = uint64_t(w[2]) | (uint64_t(w[3]) << 32);
      d.bytes = w[4];
      if (off > b.size || d.bytes > b.size - off) return bad(at, "range outside its buffer");
      d.ptr = b.ptr + off;
      if (op == RF_OP_WRITE && (uint64_t(w[5]) + (d.bytes + 3) / 4 > ndata)) return bad(at, "data range past the data words");
    } else {
      return bad(at, "unknown op");
    }
    out.push_back(d);
    at += len;
  }
  return RF_OK;
}

int launch_failed(const decoded& d, hipError_t e, const char* when) {
  const uint32_t* w = d.w;
  (void)hipGetLastError();  // launch-configuration errors are not sticky: leave the next call clean
  int code = e == RF_NO_BINARY_FOR_GPU ? RF_ERR_NO_KERNEL_IMAGE : e == hipErrorOutOfMemory ? RF_ERR_OOM : RF_ERR_LAUNCH;
  return rf_fail(code, "kernel %s %s (record at word %u: groups %ux%ux%u, wg %u, dequant %u, variant %u): %s (%s)", rf_kernel_table[w[1]].name, when,
                 d.at, w[2], w[3], w[4], w[5], w[6], w[7], hipGetErrorString(e), hipGetErrorName(e));
}

hipEvent_t pooled_event(rf_stream* s) {
  if (!s->event_pool.empty()) {
    hipEvent_t ev = s->event_pool.back();
    s->event_pool.pop_back();
    return ev;
  }
  hipEvent_t ev = nullptr;
  if (hipEventCreate(&ev) != hipSuccess) return nullptr;
  return ev;
}

// Enqueues the validated records on the stream; write data is read from `staging` (pinned).
// `capturing`: inside a graph capture, where profiling and debug synchronization cannot run.
int enqueue(rf_stream* s, const std::vector<decoded>& recs, const uint8_t* staging, bool capturing) {
  const bool profile = s->profile && !capturing;
  const bool debug_sync = s->debug_sync && !capturing;
  for (const decoded& d : recs) {
    const uint32_t* w = d.w;
    hipError_t e = hipSuccess;
    if (d.op == RF_OP_WRITE) {
      if (d.bytes > 0) e = hipMemcpyAsync(d.ptr, staging + uint64_t(w[5]) * 4, d.bytes, hipMemcpyHostToDevice, s->stream);
      if (e != hipSuccess) return rf_fail_hip(e, "enqueueing a write in a command list");
      continue;
    }
    if (d.op == RF_OP_MEMSET) {
      if (d.bytes > 0) e = hipMemsetAsync(d.ptr, static_cast<int>(w[5] & 0xff), d.bytes, s->stream);
      if (e != hipSuccess) return rf_fail_hip(e, "enqueueing a memset in a command list");
      continue;
    }
    // WebGPU runs an empty grid as nothing; HIP would call it an invalid configuration.
    if (w[2] == 0 || w[3] == 0 || w[4] == 0) continue;
    rf_launch l;
    l.stream = s->stream;
    l.groups_x = w[2];
    l.groups_y = w[3];
    l.groups_z = w[4];
    l.wg = w[5];
    l.dequant = w[6];
    l.variant = w[7];
    l.reduce = w[8];
    l.n_params = w[9];
    l.params = w + LAUNCH_FIXED;
    for (uint32_t i = 0; i < RF_MAX_BUFS; i++) l.bufs[i] = i < w[10] ? d.bufs[i] : nullptr;
    rf_profile_rec rec{w[1], nullptr, nullptr};
    if (profile) {
      rec.start = pooled_event(s);
      rec.end = pooled_event(s);
      if (rec.start) (void)hipEventRecord(rec.start, s->stream);
    }
    int rc = rf_kernel_table[w[1]].fn(&l);
    if (rc != 0) return launch_failed(d, static_cast<hipError_t>(rc), "failed to launch");
    if (profile && rec.start && rec.end) {
      (void)hipEventRecord(rec.end, s->stream);
      s->profile_recs.push_back(rec);
    }
    if (debug_sync) {
      e = hipStreamSynchronize(s->stream);
      if (e != hipSuccess) return launch_failed(d, e, "failed while running");
    }
  }
  return RF_OK;
}

// Captures the records into a new graph; nothing runs. The stream is left out of capture mode
// whatever happens.
int capture(rf_stream* s, const std::vector<decoded>& recs, const uint8_t* staging, hipGraph_t* out) {
  *out = nullptr;
  hipError_t e = hipStreamBeginCapture(s->stream, hipStreamCaptureModeThreadLocal);
  if (e != hipSuccess) return rf_fail_hip(e, "beginning a graph capture");
  int rc = enqueue(s, recs, staging, true);
  hipGraph_t graph = nullptr;
  e = hipStreamEndCapture(s->stream, &graph);
  if (rc != RF_OK) {
    if (graph) (void)hipGraphDestroy(graph);
    return rc;
  }
  if (e != hipSuccess) return rf_fail_hip(e, "ending a graph capture");
  *out = graph;
  return RF_OK;
}

}  // namespace

struct rf_graph {
  hipGraph_t graph = nullptr;
  hipGraphExec_t exec = nullptr;
  // The captured writes copy from here, so a replay only refills it.
  rf_pinned staging;
  uint32_t ndata = 0;
};

namespace {

int launch_graph(rf_graph* g, rf_stream* s) {
  hipError_t e = hipGraphLaunch(g->exec, s->stream);
  if (e == hipSuccess) e = hipEventRecord(g->staging.done, s->stream);
  if (e != hipSuccess) return rf_fail_hip(e, "launching a graph");
  g->staging.pending = true;
  return RF_OK;
}

// Waits for the graph's previous replay to be done with its staging, then fills it with data.
int fill_staging(rf_graph* g, const uint32_t* data, uint32_t ndata) {
  int rc = rf_pinned_reserve(&g->staging, uint64_t(ndata) * 4);
  if (rc != RF_OK) return rc;
  if (ndata > 0) memcpy(g->staging.host, data, uint64_t(ndata) * 4);
  g->ndata = ndata;
  return RF_OK;
}

}  // namespace

extern "C" {

uint32_t rf_kernel_count(void) { return rf_kernel_table_size; }

const char* rf_kernel_name(uint32_t index) { return index < rf_kernel_table_size ? rf_kernel_table[index].name : nullptr; }

int rf_submit(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_submit: null stream");
  std::vector<decoded> recs;
  int rc = validate(cmds, ncmds, ndata, recs);
  if (rc != RF_OK) return rc;
  rf_pinned* st = nullptr;
  if (ndata > 0) {
    st = &s->staging[s->next_staging];
    s->next_staging ^= 1;
    if ((rc = rf_pinned_reserve(st, uint64_t(ndata) * 4)) != RF_OK) return rc;
    memcpy(st->host, data, uint64_t(ndata) * 4);
  }
  rc = enqueue(s, recs, st ? st->host : nullptr, false);
  if (st) {
    // Recorded even after a failure: the writes enqueued before it still read the staging.
    hipError_t e = hipEventRecord(st->done, s->stream);
    if (e == hipSuccess) st->pending = true;
    else if (rc == RF_OK) rc = rf_fail_hip(e, "recording a staging event");
  }
  return rc;
}

int rf_graph_capture(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata, rf_graph** out) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_graph_capture: null stream");
  std::vector<decoded> recs;
  int rc = validate(cmds, ncmds, ndata, recs);
  if (rc != RF_OK) return rc;
  auto g = new rf_graph();
  if ((rc = fill_staging(g, data, ndata)) == RF_OK && (rc = capture(s, recs, g->staging.host, &g->graph)) == RF_OK) {
    hipError_t e = hipGraphInstantiate(&g->exec, g->graph, nullptr, nullptr, 0);
    rc = e == hipSuccess ? launch_graph(g, s) : rf_fail_hip(e, "instantiating a graph");
  }
  if (rc != RF_OK) {
    rf_graph_destroy(g);
    return rc;
  }
  *out = g;
  return RF_OK;
}

int rf_graph_update(rf_graph* g, rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata) {
  if (!g || !s) return rf_fail(RF_ERR_INVALID, "rf_graph_update: null graph or stream");
  std::vector<decoded> recs;
  int rc = validate(cmds, ncmds, ndata, recs);
  if (rc != RF_OK) return rc;
  // Staging may move when it grows: the new capture points at wherever it is now.
  if ((rc = fill_staging(g, data, ndata)) != RF_OK) return rc;
  hipGraph_t graph = nullptr;
  if ((rc = capture(s, recs, g->staging.host, &graph)) != RF_OK) return rc;
  hipError_t e = rf_graph_exec_update(g->exec, graph);
  if (e != hipSuccess) {
    // Refused (topology or a node kind changed): a fresh executable from the new graph.
    (void)hipGetLastError();
    hipGraphExec_t exec = nullptr;
    e = hipGraphInstantiate(&exec, graph, nullptr, nullptr, 0);
    if (e != hipSuccess) {
      (void)hipGraphDestroy(graph);
      return rf_fail_hip(e, "re-instantiating a graph");
    }
    (void)hipGraphExecDestroy(g->exec);
    g->exec = exec;
  }
  (void)hipGraphDestroy(g->graph);
  g->graph = graph;
  return launch_graph(g, s);
}

int rf_graph_launch(rf_graph* g, rf_stream* s, const uint32_t* data, uint32_t ndata) {
  if (!g || !s) return rf_fail(RF_ERR_INVALID, "rf_graph_launch: null graph or stream");
  if (ndata != g->ndata) return rf_fail(RF_ERR_INVALID, "rf_graph_launch: %u data words given, the graph was captured with %u", ndata, g->ndata);
  // Same size: the staging stays where the captured copies read it.
  int rc = fill_staging(g, data, ndata);
  if (rc != RF_OK) return rc;
  return launch_graph(g, s);
}

int rf_graph_destroy(rf_graph* g) {
  if (!g) return RF_OK;
  rf_pinned_release(&g->staging);
  if (g->exec) (void)hipGraphExecDestroy(g->exec);
  if (g->graph) (void)hipGraphDestroy(g->graph);
  delete g;
  return RF_OK;
}

int rf_profile_take(rf_stream* s, uint32_t* out, uint32_t cap, uint32_t* count) {
  if (!s) return rf_fail(RF_ERR_INVALID, "rf_profile_take: null stream");
  hipError_t e = hipStreamSynchronize(s->stream);
  if (e != hipSuccess) return rf_fail_hip(e, "waiting for profiled work");
  uint32_t n = 0;
  for (const rf_profile_rec& r : s->profile_recs) {
    float ms = 0;
    if (n < cap && hipEventElapsedTime(&ms, r.start, r.end) == hipSuccess) {
      float us = ms * 1000.0f;
      out[2 * n] = r.kernel;
      memcpy(&out[2 * n + 1], &us, 4);
    }
    n++;
    s->event_pool.push_back(r.start);
    s->event_pool.push_back(r.end);
  }
  s->profile_recs.clear();
  *count = n;
  return RF_OK;
}

}  // extern "C"

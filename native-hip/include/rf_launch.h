// The launch ABI between the host library and the kernels: every kernel file exports
//   extern "C" int rf_k_<file stem>(const rf_launch* l);
// which launches its kernel on l->stream and returns (int)hipGetLastError() (0 on success;
// hipErrorInvalidValue for a params size, workgroup size, dequant type or variant it does not have).
// The struct is plain C; the helpers below it exist only for hipcc / nvcc translation units.
#pragma once

#include "rf_hip.h"

// The largest workgroup a kernel takes (WebGPU's default maxComputeInvocationsPerWorkgroup, the
// largest any WGSL twin is dispatched with); workgroup arrays sized by WG are sized by this.
#define RF_MAX_WG 256u

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_launch {
  hipStream_t stream;
  uint32_t groups_x, groups_y, groups_z; // grid in workgroups, as WebGPU dispatchWorkgroups(x,y,z)
  uint32_t wg;        // threads per workgroup: the WGSL WG override (0 = the kernel's fixed size)
  uint32_t dequant;   // GgmlType id (ggml numbering: F32=0 F16=1 Q4_0=2 Q4_1=3 Q5_0=6 Q5_1=7 Q8_0=8 Q2_K=10 Q3_K=11 Q4_K=12 Q5_K=13 Q6_K=14 IQ4_NL=20 BF16=30) for kernels with dequant variants, else 0
  uint32_t variant;   // value of the WGSL variant override (NX for matvec, LONG for attention_exact), else 0
  uint32_t reduce;    // 1 = subgroup (warp) reductions, 0 = shared-memory reductions (fast kernels that reduce)
  uint32_t n_params;  // 32-bit words in params
  const uint32_t* params; // HOST pointer: the WGSL Params struct's words in field order (u32 or f32 bits)
  void* bufs[8];      // device pointers of WGSL bindings 1..n, in binding order
} rf_launch;

#ifdef __cplusplus
}
#endif

#if RF_DEVICE_COMPILER && defined(__cplusplus)
#include <string.h>

// Copies l->params into the kernel's Params struct (passed to the kernel by value), after checking
// that the host sent exactly its number of words.
template <class P> static inline int rf_params(const rf_launch* l, P* out) {
  static_assert(sizeof(P) % 4 == 0, "Params must be 32-bit words");
  if (l->n_params != sizeof(P) / 4 || (sizeof(P) > 0 && l->params == nullptr)) return (int)hipErrorInvalidValue;
  memcpy(out, l->params, sizeof(P));
  return 0;
}

// The workgroup size for a kernel whose WGSL twin has `override WG` (dflt: the WGSL default).
static inline uint32_t rf_wg(const rf_launch* l, uint32_t dflt) { return l->wg != 0u ? l->wg : dflt; }

// The workgroup size for a kernel with a fixed @workgroup_size(n): l->wg must be 0 or n (0 when not).
static inline uint32_t rf_wg_fixed(const rf_launch* l, uint32_t n) { return l->wg == 0u || l->wg == n ? n : 0u; }

// Binding i as whatever pointer type the kernel parameter has.
struct rf_buf_ptr {
  void* p;
  template <class T> operator T*() const { return static_cast<T*>(p); }
};
static inline rf_buf_ptr rf_buf(const rf_launch* l, unsigned i) { return rf_buf_ptr{l->bufs[i]}; }

// Launches kernel<<<(groups_x, groups_y, groups_z), wg, 0, stream>>>(args...). An empty grid is
// a no-op (as an empty WebGPU dispatch); wg must be 1..RF_MAX_WG.
template <class K, class... A> static inline int rf_go(K kernel, const rf_launch* l, uint32_t wg, A... args) {
  if (wg == 0u || wg > RF_MAX_WG) return (int)hipErrorInvalidValue;
  if (l->groups_x == 0u || l->groups_y == 0u || l->groups_z == 0u) return 0;
  kernel<<<dim3(l->groups_x, l->groups_y, l->groups_z), dim3(wg), 0, l->stream>>>(args...);
  return (int)hipGetLastError();
}

// Switches that bind a type or constant for a template instantiation and run the body (usually
// `return rf_go(...)`); a value without a case returns hipErrorInvalidValue. Type names resolve
// where the macro is used: RF_DEQUANT_SWITCH* need "rf_dequant.h", RF_REDUCE_SWITCH needs
// common/reduce-shared.h and common/reduce-subgroup.h.
#define RF_CASE_TYPE(T, NAME, ...) \
  case T::TYPE: {                  \
    typedef T NAME;                \
    __VA_ARGS__;                   \
  } break;

// Every weight type of dequant/*.h (dq4 / dq1).
#define RF_DEQUANT_SWITCH(type, DQ, ...)                 \
  switch (type) {                                        \
    RF_CASE_TYPE(F32, DQ, __VA_ARGS__)                   \
    RF_CASE_TYPE(F16, DQ, __VA_ARGS__)                   \
    RF_CASE_TYPE(BF16, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q4_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q4_1, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_1, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q8_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(IQ4_NL, DQ, __VA_ARGS__)                \
    RF_CASE_TYPE(Q2_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q3_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q4_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q6_K, DQ, __VA_ARGS__)                  \
    default: return (int)hipErrorInvalidValue;           \
  }

// The legacy 32-element types with integer quants (qi4, Q_HAS_MIN): the q8-dot kernels.
#define RF_DEQUANT_SWITCH_Q(type, DQ, ...)               \
  switch (type) {                                        \
    RF_CASE_TYPE(Q4_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q4_1, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_1, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q8_0, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(IQ4_NL, DQ, __VA_ARGS__)                \
    default: return (int)hipErrorInvalidValue;           \
  }

// The k-quants (ksq4, kmin, KD_OFF, KDMIN_OFF, K_MINS): the q8k kernels.
#define RF_DEQUANT_SWITCH_K(type, DQ, ...)               \
  switch (type) {                                        \
    RF_CASE_TYPE(Q2_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q3_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q4_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q5_K, DQ, __VA_ARGS__)                  \
    RF_CASE_TYPE(Q6_K, DQ, __VA_ARGS__)                  \
    default: return (int)hipErrorInvalidValue;           \
  }

// rf_launch.reduce: 1 = ReduceSubgroup, 0 = ReduceShared (whose tree needs a power-of-two wg).
#define RF_REDUCE_SWITCH(reduce, RED, ...)               \
  switch (reduce) {                                      \
    case 1u: {                                           \
      typedef ReduceSubgroup RED;                        \
      __VA_ARGS__;                                       \
    } break;                                             \
    case 0u: {                                           \
      typedef ReduceShared RED;                          \
      __VA_ARGS__;                                       \
    } break;                                             \
    default: return (int)hipErrorInvalidValue;           \
  }

#define RF_CASE_CONST(V, NAME, ...)   \
  case V: {                          \
    constexpr uint32_t NAME = V;     \
    __VA_ARGS__;                     \
  } break;

// A variant override taking the values 1..8 (matvec's NX); 0 (not set) is WGSL's default, 1.
#define RF_NX_SWITCH(v, NX, ...)                                                                    \
  switch ((v) != 0u ? (v) : 1u) {                                                                                      \
    RF_CASE_CONST(1u, NX, __VA_ARGS__) RF_CASE_CONST(2u, NX, __VA_ARGS__)                           \
    RF_CASE_CONST(3u, NX, __VA_ARGS__) RF_CASE_CONST(4u, NX, __VA_ARGS__)                           \
    RF_CASE_CONST(5u, NX, __VA_ARGS__) RF_CASE_CONST(6u, NX, __VA_ARGS__)                           \
    RF_CASE_CONST(7u, NX, __VA_ARGS__) RF_CASE_CONST(8u, NX, __VA_ARGS__)                           \
    default: return (int)hipErrorInvalidValue;                                                      \
  }

// A variant override taking the values 0 and 1 (attention_exact's LONG).
#define RF_BOOL_SWITCH(v, NAME, ...)                                    \
  switch (v) {                                                          \
    RF_CASE_CONST(0u, NAME, __VA_ARGS__) RF_CASE_CONST(1u, NAME, __VA_ARGS__) \
    default: return (int)hipErrorInvalidValue;                          \
  }

#endif

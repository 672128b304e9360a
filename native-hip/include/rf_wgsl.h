// Device helpers so that kernel bodies read like their WGSL twins: the scalar names f32/u32/i32,
// vec2/vec3/vec4 and array<T, N> with WGSL's operators, bitcast<T>, select, dot, the f16 packing
// builtins, and WGSL's builtin ids. Only what the kernels use; add beside a kernel that needs more.
//
// Differences a mirror must mind:
// - WGSL zero-initializes every `var`; here only array<T, N> does. Write vec4<f32>(0.0f) etc.
//   (vec types stay trivial so that they can live in __shared__ arrays).
// - WGSL's round() rounds half to even: write round_even(). C's round() rounds half away from zero.
// - Scalar abs/min/max of floats: fabsf/fminf/fmaxf (overloads of abs/min/max on floats differ
//   between CUDA and HIP headers). Integer min/max are the toolkits' own.
#pragma once

#include "rf_launch.h"

typedef float f32;
typedef uint32_t u32;
typedef int32_t i32;

#define RF_INLINE __device__ __forceinline__

// The type of the argument, in a context where it is not deduced (lets vec4<f32> * 8.0 compile).
template <class T> struct rf_same { typedef T type; };

// ---- vectors (WGSL layout: vec2 aligned to 8 bytes, vec4 to 16)
template <class T> struct alignas(2 * sizeof(T)) vec2 {
  T x, y;
  vec2() = default;
  RF_INLINE explicit vec2(T s) : x(s), y(s) {}
  RF_INLINE vec2(T a, T b) : x(a), y(b) {}
  template <class U> RF_INLINE explicit vec2(vec2<U> v) : x(T(v.x)), y(T(v.y)) {}
  RF_INLINE T operator[](u32 i) const { return i == 0u ? x : y; }
  RF_INLINE T& operator[](u32 i) { return i == 0u ? x : y; }
};

template <class T> struct vec3 {
  T x, y, z;
  vec3() = default;
  RF_INLINE vec3(T a, T b, T c) : x(a), y(b), z(c) {}
};

template <class T> struct alignas(4 * sizeof(T)) vec4 {
  T x, y, z, w;
  vec4() = default;
  RF_INLINE explicit vec4(T s) : x(s), y(s), z(s), w(s) {}
  RF_INLINE vec4(T a, T b, T c, T d) : x(a), y(b), z(c), w(d) {}
  RF_INLINE vec4(vec2<T> a, vec2<T> b) : x(a.x), y(a.y), z(b.x), w(b.y) {}
  template <class U> RF_INLINE explicit vec4(vec4<U> v) : x(T(v.x)), y(T(v.y)), z(T(v.z)), w(T(v.w)) {}
  RF_INLINE T operator[](u32 i) const { return i == 0u ? x : i == 1u ? y : i == 2u ? z : w; }
  RF_INLINE T& operator[](u32 i) { return i == 0u ? x : i == 1u ? y : i == 2u ? z : w; }
};

// Component-wise operators: vector op vector, vector op scalar, scalar op vector.
#define RF_VEC_BINOP(OP)                                                                                   \
  template <class T> RF_INLINE vec2<T> operator OP(vec2<T> a, vec2<T> b) { return vec2<T>(a.x OP b.x, a.y OP b.y); } \
  template <class T> RF_INLINE vec2<T> operator OP(vec2<T> a, typename rf_same<T>::type s) { return vec2<T>(a.x OP s, a.y OP s); } \
  template <class T> RF_INLINE vec2<T> operator OP(typename rf_same<T>::type s, vec2<T> b) { return vec2<T>(s OP b.x, s OP b.y); } \
  template <class T> RF_INLINE vec4<T> operator OP(vec4<T> a, vec4<T> b) {                                 \
    return vec4<T>(a.x OP b.x, a.y OP b.y, a.z OP b.z, a.w OP b.w);                                          \
  }                                                                                                          \
  template <class T> RF_INLINE vec4<T> operator OP(vec4<T> a, typename rf_same<T>::type s) {               \
    return vec4<T>(a.x OP s, a.y OP s, a.z OP s, a.w OP s);                                                  \
  }                                                                                                          \
  template <class T> RF_INLINE vec4<T> operator OP(typename rf_same<T>::type s, vec4<T> b) {               \
    return vec4<T>(s OP b.x, s OP b.y, s OP b.z, s OP b.w);                                                  \
  }                                                                                                          \
  template <class T, class U> RF_INLINE vec2<T>& operator OP##=(vec2<T>& a, U b) { return a = a OP b; }   \
  template <class T, class U> RF_INLINE vec4<T>& operator OP##=(vec4<T>& a, U b) { return a = a OP b; }
RF_VEC_BINOP(+)
RF_VEC_BINOP(-)
RF_VEC_BINOP(*)
RF_VEC_BINOP(/)
RF_VEC_BINOP(&)
RF_VEC_BINOP(|)
RF_VEC_BINOP(^)
#undef RF_VEC_BINOP

template <class T> RF_INLINE vec2<T> operator-(vec2<T> a) { return vec2<T>(-a.x, -a.y); }
template <class T> RF_INLINE vec4<T> operator-(vec4<T> a) { return vec4<T>(-a.x, -a.y, -a.z, -a.w); }

// Shifts: the amount is a u32 vector (or scalar) taken modulo 32, as in WGSL; >> of i32 is arithmetic.
template <class T> RF_INLINE vec4<T> operator<<(vec4<T> a, vec4<u32> s) {
  return vec4<T>(a.x << (s.x & 31u), a.y << (s.y & 31u), a.z << (s.z & 31u), a.w << (s.w & 31u));
}
template <class T> RF_INLINE vec4<T> operator>>(vec4<T> a, vec4<u32> s) {
  return vec4<T>(a.x >> (s.x & 31u), a.y >> (s.y & 31u), a.z >> (s.z & 31u), a.w >> (s.w & 31u));
}
template <class T> RF_INLINE vec2<T> operator<<(vec2<T> a, vec2<u32> s) { return vec2<T>(a.x << (s.x & 31u), a.y << (s.y & 31u)); }
template <class T> RF_INLINE vec2<T> operator>>(vec2<T> a, vec2<u32> s) { return vec2<T>(a.x >> (s.x & 31u), a.y >> (s.y & 31u)); }

// Comparisons give vec4<bool>, for select.
#define RF_VEC_CMP(OP)                                                                                                   \
  template <class T> RF_INLINE vec4<bool> operator OP(vec4<T> a, vec4<T> b) {                                           \
    return vec4<bool>(a.x OP b.x, a.y OP b.y, a.z OP b.z, a.w OP b.w);                                                    \
  }
RF_VEC_CMP(==)
RF_VEC_CMP(!=)
RF_VEC_CMP(<)
RF_VEC_CMP(<=)
RF_VEC_CMP(>)
RF_VEC_CMP(>=)
#undef RF_VEC_CMP

// ---- array<T, N>: passed and returned by value like a WGSL array; zero-initialized like a WGSL var.
template <class T, u32 N> struct array {
  T v[N] = {};
  RF_INLINE T& operator[](u32 i) { return v[i]; }
  RF_INLINE const T& operator[](u32 i) const { return v[i]; }
};

// ---- builtins
// bitcast<To>(v): WGSL's bitcast, same size required.
template <class To, class From> RF_INLINE To bitcast(From v) {
  static_assert(sizeof(To) == sizeof(From), "bitcast between types of different sizes");
  return __builtin_bit_cast(To, v);
}

// select(f, t, cond): t where cond, else f (WGSL's argument order).
template <class T> RF_INLINE T select(T f, T t, bool c) { return c ? t : f; }
template <class T> RF_INLINE vec4<T> select(vec4<T> f, vec4<T> t, vec4<bool> c) {
  return vec4<T>(c.x ? t.x : f.x, c.y ? t.y : f.y, c.z ? t.z : f.z, c.w ? t.w : f.w);
}

// dot in index order (only non-exact kernels use it; WGSL leaves its order to the implementation).
RF_INLINE f32 dot(vec4<f32> a, vec4<f32> b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
RF_INLINE f32 dot(vec2<f32> a, vec2<f32> b) { return a.x * b.x + a.y * b.y; }

// pack4xI8 / dot4I8Packed (WGSL's packed_4x8_integer_dot_product): four i8 in a u32, byte c =
// element c; the dot of two such words as i32. dot4I8Packed is the native dp4a where the GPU has it.
RF_INLINE u32 pack4xI8(vec4<i32> v) {
  return (bitcast<u32>(v.x) & 0xFFu) | ((bitcast<u32>(v.y) & 0xFFu) << 8u) | ((bitcast<u32>(v.z) & 0xFFu) << 16u) |
         (bitcast<u32>(v.w) << 24u);
}
RF_INLINE i32 dot4I8Packed(u32 a, u32 b) {
#if RF_CUDA
  return __dp4a(bitcast<i32>(a), bitcast<i32>(b), 0);
#elif defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
  return __builtin_amdgcn_sdot4(bitcast<i32>(a), bitcast<i32>(b), 0, false);
#else
  const i32 x = bitcast<i32>(a), y = bitcast<i32>(b);
  return (x << 24 >> 24) * (y << 24 >> 24) + (x << 16 >> 24) * (y << 16 >> 24) + (x << 8 >> 24) * (y << 8 >> 24) + (x >> 24) * (y >> 24);
#endif
}

// WGSL's round(): to the nearest integer, ties to even.
RF_INLINE f32 round_even(f32 x) { return rintf(x); }

// pack2x16float / unpack2x16float: f32 <-> IEEE half bits by the hardware conversion (round to
// nearest even, subnormal halves kept, overflow to infinity).
RF_INLINE u32 f32_to_f16_bits(f32 v) {
#if RF_CUDA
  return (u32)__half_as_ushort(__float2half_rn(v));
#else
  return (u32)__builtin_bit_cast(unsigned short, (_Float16)v);
#endif
}
RF_INLINE f32 f16_bits_to_f32_hw(u32 h) {
#if RF_CUDA
  return __half2float(__ushort_as_half((unsigned short)(h & 0xffffu)));
#else
  return (f32)__builtin_bit_cast(_Float16, (unsigned short)(h & 0xffffu));
#endif
}
RF_INLINE u32 pack2x16float(vec2<f32> v) { return f32_to_f16_bits(v.x) | (f32_to_f16_bits(v.y) << 16u); }
RF_INLINE vec2<f32> unpack2x16float(u32 u) { return vec2<f32>(f16_bits_to_f32_hw(u), f16_bits_to_f32_hw(u >> 16u)); }

// WGSL's builtin ids for the usual 1-D workgroups: gid = global_invocation_id(), nwg =
// num_workgroups(), wid = workgroup_id(), lid = local_invocation_index(); WG (the workgroup size,
// a pipeline override in WGSL) is workgroup_size() here.
RF_INLINE vec3<u32> global_invocation_id() {
  return vec3<u32>(blockIdx.x * blockDim.x + threadIdx.x, blockIdx.y * blockDim.y + threadIdx.y, blockIdx.z * blockDim.z + threadIdx.z);
}
RF_INLINE vec3<u32> num_workgroups() { return vec3<u32>(gridDim.x, gridDim.y, gridDim.z); }
RF_INLINE vec3<u32> workgroup_id() { return vec3<u32>(blockIdx.x, blockIdx.y, blockIdx.z); }
RF_INLINE u32 local_invocation_index() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }
RF_INLINE u32 workgroup_size() { return blockDim.x * blockDim.y * blockDim.z; }
RF_INLINE void workgroupBarrier() { __syncthreads(); }

// The portability header: the kernels and the host library are written against HIP's names; under
// nvcc (CUDA without HIP) this maps the hip* names the project uses onto CUDA. Debian's HIP 5.2
// NVIDIA headers do not compile against CUDA 13, so they are never used. Add a mapping here when
// a new hip* name is needed, not a second path in the caller.
#pragma once

#include <stdint.h>

// RF_CUDA: 1 when compiling for NVIDIA through CUDA's own headers (nvcc, or a host compiler with
// RF_PLATFORM_CUDA defined), 0 for HIP on AMD.
#if (defined(__CUDACC__) && !defined(__HIP__) && !defined(__HIPCC__)) || defined(RF_PLATFORM_CUDA)
#define RF_CUDA 1
#else
#define RF_CUDA 0
#endif

// RF_DEVICE_COMPILER: the translation unit is compiled by hipcc or nvcc (device code allowed).
#if defined(__CUDACC__) || defined(__HIPCC__) || defined(__HIP__)
#define RF_DEVICE_COMPILER 1
#else
#define RF_DEVICE_COMPILER 0
#endif

#if RF_CUDA

#if RF_DEVICE_COMPILER
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#else
#include <cuda_runtime_api.h>
#endif

// ---- runtime API (host)
#define hipError_t cudaError_t
#define hipSuccess cudaSuccess
#define hipErrorInvalidValue cudaErrorInvalidValue
#define hipErrorOutOfMemory cudaErrorMemoryAllocation
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorNotReady cudaErrorNotReady
#define hipGetLastError cudaGetLastError
#define hipPeekAtLastError cudaPeekAtLastError
#define hipGetErrorString cudaGetErrorString
#define hipGetErrorName cudaGetErrorName

#define hipDeviceProp_t cudaDeviceProp
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipGetDeviceCount cudaGetDeviceCount
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipDeviceSynchronize cudaDeviceSynchronize
#define hipDeviceGetAttribute cudaDeviceGetAttribute
#define hipDeviceAttributeWarpSize cudaDevAttrWarpSize
#define hipDeviceAttributeMultiprocessorCount cudaDevAttrMultiProcessorCount
#define hipDriverGetVersion cudaDriverGetVersion
#define hipRuntimeGetVersion cudaRuntimeGetVersion
#define hipMemGetInfo cudaMemGetInfo

#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipHostMalloc(p, n, flags) cudaMallocHost((p), (n))
#define hipHostFree cudaFreeHost
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemset cudaMemset
#define hipMemsetAsync cudaMemsetAsync
#define hipMemcpyKind cudaMemcpyKind
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemcpyDefault cudaMemcpyDefault

#define hipStream_t cudaStream_t
#define hipStreamCreate cudaStreamCreate
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipStreamQuery cudaStreamQuery
#define hipStreamWaitEvent cudaStreamWaitEvent

#define hipEvent_t cudaEvent_t
#define hipEventCreate cudaEventCreate
#define hipEventCreateWithFlags cudaEventCreateWithFlags
#define hipEventDisableTiming cudaEventDisableTiming
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipEventDestroy cudaEventDestroy

// ---- graphs (capture and replay)
#define hipGraph_t cudaGraph_t
#define hipGraphExec_t cudaGraphExec_t
#define hipGraphNode_t cudaGraphNode_t
#define hipStreamCaptureMode cudaStreamCaptureMode
#define hipStreamCaptureModeGlobal cudaStreamCaptureModeGlobal
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipStreamCaptureModeRelaxed cudaStreamCaptureModeRelaxed
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipStreamIsCapturing cudaStreamIsCapturing
#define hipStreamCaptureStatus cudaStreamCaptureStatus
#define hipStreamCaptureStatusNone cudaStreamCaptureStatusNone
#define hipStreamCaptureStatusActive cudaStreamCaptureStatusActive
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphDestroy cudaGraphDestroy
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
// HIP keeps the CUDA 11 signature (error node, log buffer); CUDA 12+ takes flags instead.
#define hipGraphInstantiate(exec, graph, errNode, logBuf, logSize) cudaGraphInstantiate((exec), (graph), 0)

// ---- device code
#if RF_DEVICE_COMPILER
// Lane exchange within a warp; every lane of the warp takes part (as in a WGSL subgroup op).
template <class T>
__device__ __forceinline__ T rf_shfl_xor(T v, int lane_mask) {
  return __shfl_xor_sync(0xffffffffu, v, lane_mask);
}
#endif

#else // HIP

#if RF_DEVICE_COMPILER
#include <hip/hip_runtime.h>
#else
#include <hip/hip_runtime_api.h>
#endif

#if RF_DEVICE_COMPILER
template <class T>
__device__ __forceinline__ T rf_shfl_xor(T v, int lane_mask) {
  return __shfl_xor(v, lane_mask);
}
#endif

#endif

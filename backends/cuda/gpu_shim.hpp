// The vendor shim: every runtime, BLAS and collective name backends/cuda uses, mapped to CUDA,
// cuBLASLt and NCCL. A toolchain that accepts CUDA source with renamed calls (MUSA-, MACA- or
// CoreX-style) builds backends/cuda by replacing this one file: point the includes at its
// headers and each name at its own call (gpuMallocAsync -> musaMallocAsync, blasLt* ->
// mublasLt*, ccl* -> mccl*). The rest of the backend names nothing else from the vendor.
//
// Identity mapping below: it compiles against the real CUDA Toolkit headers.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

// ---- runtime ----
using gpuError_t = cudaError_t;
using gpuStream_t = cudaStream_t;
using gpuEvent_t = cudaEvent_t;
using gpuDeviceProp = cudaDeviceProp;
constexpr gpuError_t gpuSuccess = cudaSuccess;
constexpr gpuError_t gpuErrorNotReady = cudaErrorNotReady;
constexpr gpuError_t gpuErrorMemoryAllocation = cudaErrorMemoryAllocation;
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuDriverGetVersion cudaDriverGetVersion
#define gpuRuntimeGetVersion cudaRuntimeGetVersion
#define gpuSetDevice cudaSetDevice
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuDeviceSynchronize cudaDeviceSynchronize
#define gpuMemGetInfo cudaMemGetInfo
#define gpuMallocAsync cudaMallocAsync
#define gpuFreeAsync cudaFreeAsync
#define gpuMallocHost cudaMallocHost
#define gpuFreeHost cudaFreeHost
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemsetAsync cudaMemsetAsync
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamDestroy cudaStreamDestroy
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuStreamWaitEvent cudaStreamWaitEvent
#define gpuEventCreateWithFlags cudaEventCreateWithFlags
#define gpuEventDisableTiming cudaEventDisableTiming
#define gpuEventDestroy cudaEventDestroy
#define gpuEventRecord cudaEventRecord
#define gpuEventQuery cudaEventQuery
#define gpuEventSynchronize cudaEventSynchronize
#define gpuPointerGetAttributes cudaPointerGetAttributes
#define gpuPointerAttributes cudaPointerAttributes
#define gpuMemoryTypeUnregistered cudaMemoryTypeUnregistered

// ---- BLAS (cuBLASLt) ----
using blasLtHandle_t = cublasLtHandle_t;
using blasLtMatmulDesc_t = cublasLtMatmulDesc_t;
using blasLtMatrixLayout_t = cublasLtMatrixLayout_t;
using blasLtMatmulPreference_t = cublasLtMatmulPreference_t;
using blasLtMatmulHeuristicResult_t = cublasLtMatmulHeuristicResult_t;
using blasStatus_t = cublasStatus_t;
using blasDataType_t = cudaDataType_t;
using blasComputeType_t = cublasComputeType_t;
constexpr blasStatus_t blasStatusSuccess = CUBLAS_STATUS_SUCCESS;
constexpr blasDataType_t blasR32F = CUDA_R_32F;
constexpr blasDataType_t blasR16F = CUDA_R_16F;
constexpr blasDataType_t blasR16BF = CUDA_R_16BF;
constexpr blasComputeType_t blasCompute32F = CUBLAS_COMPUTE_32F;
#define blasLtCreate cublasLtCreate
#define blasLtDestroy cublasLtDestroy
#define blasLtMatmul cublasLtMatmul
#define blasLtMatmulDescCreate cublasLtMatmulDescCreate
#define blasLtMatmulDescDestroy cublasLtMatmulDescDestroy
#define blasLtMatmulDescSetAttribute cublasLtMatmulDescSetAttribute
#define blasLtMatrixLayoutCreate cublasLtMatrixLayoutCreate
#define blasLtMatrixLayoutDestroy cublasLtMatrixLayoutDestroy
#define blasLtMatrixLayoutSetAttribute cublasLtMatrixLayoutSetAttribute
#define blasLtMatmulPreferenceCreate cublasLtMatmulPreferenceCreate
#define blasLtMatmulPreferenceDestroy cublasLtMatmulPreferenceDestroy
#define blasLtMatmulPreferenceSetAttribute cublasLtMatmulPreferenceSetAttribute
#define blasLtMatmulAlgoGetHeuristic cublasLtMatmulAlgoGetHeuristic
#define blasGetStatusString cublasGetStatusString
#define BLASLT_MATMUL_DESC_TRANSA CUBLASLT_MATMUL_DESC_TRANSA
#define BLASLT_MATMUL_DESC_TRANSB CUBLASLT_MATMUL_DESC_TRANSB
#define BLASLT_MATRIX_LAYOUT_ORDER CUBLASLT_MATRIX_LAYOUT_ORDER
#define BLASLT_MATRIX_LAYOUT_BATCH_COUNT CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT
#define BLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET
#define BLASLT_ORDER_ROW CUBLASLT_ORDER_ROW
#define BLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
#define BLAS_OP_N CUBLAS_OP_N
#define BLAS_OP_T CUBLAS_OP_T
using blasOperation_t = cublasOperation_t;
using blasLtOrder_t = cublasLtOrder_t;

// ---- collectives (NCCL) ----
using cclComm_t = ncclComm_t;
using cclResult_t = ncclResult_t;
using cclUniqueId = ncclUniqueId;
constexpr cclResult_t cclSuccess = ncclSuccess;
#define cclCommInitAll ncclCommInitAll
#define cclCommInitRank ncclCommInitRank
#define cclGetUniqueId ncclGetUniqueId
#define cclCommDestroy ncclCommDestroy
#define cclGroupStart ncclGroupStart
#define cclGroupEnd ncclGroupEnd
#define cclSend ncclSend
#define cclRecv ncclRecv
#define cclGetErrorString ncclGetErrorString
#define cclUint8 ncclUint8

// ---- host callbacks (releasing pinned staging once a copy has run) ----
using gpuHostFn_t = cudaHostFn_t;
#define gpuLaunchHostFunc cudaLaunchHostFunc

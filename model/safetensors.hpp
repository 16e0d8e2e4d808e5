// One safetensors file, memory-mapped read-only: the header is parsed and every tensor checked
// (dtype known, shape × dtype size == byte length, data inside the file, no overlaps).
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dshal::model {

class SafetensorsFile;

// Invariants after SafetensorsFile::open: data == owner->base() + file_offset, bytes == product of
// shape × dtype size, [file_offset, file_offset + bytes) inside the file and overlapping no other
// tensor. data is NOT necessarily aligned beyond 1 byte in files written by others (make-model and
// HF both start the data region 8-aligned and pack tensors back to back).
struct TensorView {
  std::string name;
  std::string file;          // path of the safetensors file, for messages
  dshal_dtype dtype = DSHAL_DTYPE_INVALID;  // F32, F16, BF16, FP8_E4M3, I32, U8 (I64/F64/BOOL... rejected)
  std::string dtype_name;    // as written in the header: "BF16"
  std::vector<int64_t> shape;
  uint64_t file_offset = 0;  // bytes from the start of the file
  uint64_t bytes = 0;
  const std::byte* data = nullptr;  // inside the mapping
  const SafetensorsFile* owner = nullptr;
};

class SafetensorsFile {
 public:
  // mmap(PROT_READ, MAP_PRIVATE). Errors (INVALID_ARGUMENT, or NOT_FOUND for a missing file) name
  // the file and, where it applies, the tensor: truncated file, header length > file or > 100 MB,
  // bad JSON, unknown dtype, offsets out of range or overlapping, size not matching the shape.
  static Status open(const std::filesystem::path& path, std::unique_ptr<SafetensorsFile>* out);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::byte* base() const { return base_; }  // the whole file
  uint64_t size() const { return size_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  uint64_t data_start() const { return data_start_; }  // 8 + header length
  // Drops the pages of [offset, offset + bytes) from this process's resident set (madvise
  // MADV_DONTNEED on the whole pages inside the range); for data already copied elsewhere.
  void release_pages(uint64_t offset, uint64_t bytes) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  const std::byte* base_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The dshal dtype of a safetensors dtype name ("BF16" -> BF16), INVALID for names dshal does not
// read; and its element size in bytes (0 for those).
dshal_dtype safetensors_dtype(std::string_view name);
uint64_t safetensors_dtype_bytes(std::string_view name);
// The safetensors name of a dtype ("F8_E4M3" for FP8_E4M3), "" for INT4 / INVALID.
const char* safetensors_dtype_name(dshal_dtype dtype);


// One entry of a header to be written.
struct TensorSpec {
  std::string name;
  std::string dtype_name;  // "F32", "BF16", "F16", "F8_E4M3", "I32", "U8"
  std::vector<int64_t> shape;
  uint64_t bytes() const;  // shape × dtype size
};
// The first bytes of a safetensors file holding `tensors` packed contiguously in this order:
// the 8-byte little-endian length, then the JSON header padded with spaces so that the data
// starts at a multiple of 8. For writers that stream the data themselves (make-model).
Status encode_safetensors_header(const std::vector<TensorSpec>& tensors, const std::map<std::string, std::string>& metadata,
                                 std::string* out);

// Writes tensors to a safetensors file, packed contiguously in the order given (the data region
// starts 8-aligned). Writes "<path>.tmp" and renames it, so a failure leaves no half file at path.
// Bad tensors are INVALID_ARGUMENT; I/O failures DEVICE (the disk failed), naming the file.
struct TensorToWrite {
  std::string name;
  std::string dtype_name;  // "F32", "BF16", "F16", "F8_E4M3"
  std::vector<int64_t> shape;
  std::vector<std::byte> data;
};
Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace dshal::model

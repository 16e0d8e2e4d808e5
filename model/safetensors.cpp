// Reads (memory-mapped, every header entry checked) and writes safetensors files.
#include "safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace dshal::model {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // as the safetensors reference implementation

struct DtypeInfo {
  const char* name;
  dshal_dtype dtype;
  uint64_t bytes;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", DSHAL_DTYPE_F32, 4},          {"F16", DSHAL_DTYPE_F16, 2}, {"BF16", DSHAL_DTYPE_BF16, 2},
    {"F8_E4M3", DSHAL_DTYPE_FP8_E4M3, 1}, {"I32", DSHAL_DTYPE_I32, 4}, {"U8", DSHAL_DTYPE_U8, 1},
};

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

Status invalid(const std::string& file, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, file + ": " + what);
}

std::string errno_text() { return std::strerror(errno); }

// shape × element size, false on a negative dim or overflow.
bool shape_bytes(const std::vector<int64_t>& shape, uint64_t elem, uint64_t* out) {
  uint64_t n = elem;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n)) return false;
  *out = n;
  return true;
}

// One header entry: {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}.
Status parse_entry(const std::string& file, const std::string& name, const json& e, uint64_t data_size, TensorView* t) {
  const std::string where = fmt::format("tensor '{}'", name);
  if (!e.is_object()) return invalid(file, where + ": header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!e.contains(key)) return invalid(file, fmt::format("{}: header entry has no '{}'", where, key));
  if (!e["dtype"].is_string()) return invalid(file, where + ": dtype is not a string");
  t->dtype_name = e["dtype"].get<std::string>();
  const DtypeInfo* d = find_dtype(t->dtype_name);
  if (!d)
    return invalid(file, fmt::format("{}: dtype {} is not supported (F32, F16, BF16, F8_E4M3, I32, U8)", where, t->dtype_name));
  t->dtype = d->dtype;
  const json& shape = e["shape"];
  if (!shape.is_array()) return invalid(file, where + ": shape is not an array");
  for (const json& dim : shape) {
    if (!dim.is_number_integer()) return invalid(file, fmt::format("{}: shape {} has a non-integer dim", where, shape.dump()));
    if (dim.is_number_unsigned() ? dim.get<uint64_t>() > uint64_t(INT64_MAX) : dim.get<int64_t>() < 0)
      return invalid(file, fmt::format("{}: shape {} has a negative or huge dim", where, shape.dump()));
    t->shape.push_back(dim.get<int64_t>());
  }
  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    return invalid(file, fmt::format("{}: data_offsets {} are not two non-negative integers", where, off.dump()));
  const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
  if (begin > end || end > data_size)
    return invalid(file, fmt::format("{}: data_offsets [{}, {}] lie outside the data ({} bytes; file truncated?)", where, begin,
                                     end, data_size));
  uint64_t bytes = 0;
  if (!shape_bytes(t->shape, d->bytes, &bytes) || bytes != end - begin)
    return invalid(file, fmt::format("{}: shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", where, shape.dump(),
                                     t->dtype_name, bytes, begin, end, end - begin));
  t->name = name;
  t->file = file;
  t->file_offset = begin;  // made absolute by the caller
  t->bytes = bytes;
  return Status();
}

}  // namespace

dshal_dtype safetensors_dtype(std::string_view name) {
  const DtypeInfo* d = find_dtype(name);
  return d ? d->dtype : DSHAL_DTYPE_INVALID;
}

uint64_t safetensors_dtype_bytes(std::string_view name) {
  const DtypeInfo* d = find_dtype(name);
  return d ? d->bytes : 0;
}

const char* safetensors_dtype_name(dshal_dtype dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  return "";
}

uint64_t TensorSpec::bytes() const {
  uint64_t n = 0;
  return shape_bytes(shape, safetensors_dtype_bytes(dtype_name), &n) ? n : 0;
}

Status SafetensorsFile::open(const std::filesystem::path& path, std::unique_ptr<SafetensorsFile>* out) {
  const std::string file = path.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status(errno == ENOENT ? DSHAL_ERROR_NOT_FOUND : DSHAL_ERROR_INVALID_ARGUMENT, file + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const Status s = invalid(file, "fstat failed: " + errno_text());
    ::close(fd);
    return s;
  }
  const uint64_t size = uint64_t(st.st_size);
  if (!S_ISREG(st.st_mode) || size < 8) {
    ::close(fd);
    return invalid(file, fmt::format("truncated: {} bytes, but a safetensors file starts with an 8-byte header length", size));
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return invalid(file, "mmap failed: " + errno_text());

  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->base_ = static_cast<const std::byte*>(map);
  f->size_ = size;

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint64_t(f->base_[i]);
  if (header_len > kMaxHeaderBytes)
    return invalid(file, fmt::format("header length {} is over the 100 MB limit (not a safetensors file?)", header_len));
  if (header_len > size - 8)
    return invalid(file, fmt::format("header length {} exceeds the file ({} bytes; truncated?)", header_len, size));
  f->data_start_ = 8 + header_len;
  const uint64_t data_size = size - f->data_start_;

  json header;
  try {
    header = json::parse(reinterpret_cast<const char*>(f->base_ + 8), reinterpret_cast<const char*>(f->base_ + 8 + header_len));
  } catch (const json::exception& e) {
    return invalid(file, fmt::format("the header is not valid JSON: {}", e.what()));
  }
  if (!header.is_object()) return invalid(file, "the header is not a JSON object");

  std::vector<const TensorView*> by_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return invalid(file, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return invalid(file, fmt::format("__metadata__ '{}' is not a string", k));
        f->metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    TensorView t;
    DSHAL_RETURN_IF_ERROR(parse_entry(file, name, entry, data_size, &t));
    t.file_offset += f->data_start_;
    t.data = f->base_ + t.file_offset;
    t.owner = f.get();
    by_offset.push_back(&(f->tensors_[name] = std::move(t)));
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorView* a, const TensorView* b) { return a->file_offset < b->file_offset; });
  const TensorView* prev = nullptr;
  for (const TensorView* t : by_offset) {
    if (t->bytes == 0) continue;  // occupies nothing, overlaps nothing
    if (prev && prev->file_offset + prev->bytes > t->file_offset)
      return invalid(file, fmt::format("tensors '{}' and '{}' overlap (data_offsets [{}, {}] and [{}, {}])", prev->name, t->name,
                                       prev->file_offset - f->data_start_, prev->file_offset - f->data_start_ + prev->bytes,
                                       t->file_offset - f->data_start_, t->file_offset - f->data_start_ + t->bytes));
    prev = t;
  }
  *out = std::move(f);
  return Status();
}

SafetensorsFile::~SafetensorsFile() {
  if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
}

void SafetensorsFile::release_pages(uint64_t offset, uint64_t bytes) const {
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  const uint64_t end = std::min(size_, offset + bytes);
  const uint64_t first = (offset + page - 1) / page * page, last = end / page * page;
  if (first < last) ::madvise(const_cast<std::byte*>(base_) + first, last - first, MADV_DONTNEED);
}

Status encode_safetensors_header(const std::vector<TensorSpec>& tensors, const std::map<std::string, std::string>& metadata,
                                 std::string* out) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (!find_dtype(t.dtype_name)) return invalid(t.name, fmt::format("cannot write dtype '{}'", t.dtype_name));
    uint64_t bytes = 0;
    if (!shape_bytes(t.shape, safetensors_dtype_bytes(t.dtype_name), &bytes))
      return invalid(t.name, "cannot write a negative or overflowing shape");
    if (h.contains(t.name)) return invalid(t.name, "tensor name given twice");
    h[t.name] = {{"dtype", t.dtype_name}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  out->resize(8);
  for (int i = 0; i < 8; ++i) (*out)[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  out->append(text);
  return Status();
}

Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const TensorToWrite& t : tensors) {
    specs.push_back({t.name, t.dtype_name, t.shape});
    if (specs.back().bytes() != t.data.size())
      return invalid(path.string(), fmt::format("tensor '{}': {} data bytes for shape × {} = {} bytes", t.name, t.data.size(),
                                                t.dtype_name, specs.back().bytes()));
  }
  std::string header;
  DSHAL_RETURN_IF_ERROR(encode_safetensors_header(specs, metadata, &header));
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(header.data(), std::streamsize(header.size()));
    for (const TensorToWrite& t : tensors) out.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(t.data.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return Status(DSHAL_ERROR_DEVICE, path.string() + ": write failed: " + errno_text());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status(DSHAL_ERROR_DEVICE, path.string() + ": rename from .tmp failed: " + ec.message());
  return Status();
}

}  // namespace dshal::model

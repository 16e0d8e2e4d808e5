// NumPy .npy files of little-endian float32 in C order: write (version 1.0) and read (1.0 / 2.0).
#include "npy.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

namespace dshal::model {
namespace {

Status invalid(const std::filesystem::path& p, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, p.string() + ": " + what);
}

}  // namespace

Status write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* data) {
  uint64_t n = 1;
  std::string dims;
  for (int64_t d : shape) {
    if (d < 0) return invalid(path, fmt::format("negative dim {}", d));
    n *= uint64_t(d);
    dims += fmt::format("{}, ", d);
  }
  if (!dims.empty()) dims.resize(dims.size() - (shape.size() > 1 ? 2 : 1));  // "(2, 3)", but "(2,)" for rank 1
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  const size_t unpadded = 10 + header.size() + 1;  // magic, version, length, header, '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string prefix("\x93NUMPY\x01\x00", 8);
  prefix += char(header.size() & 0xff);
  prefix += char(header.size() >> 8);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(prefix.data(), std::streamsize(prefix.size()));
  out.write(header.data(), std::streamsize(header.size()));
  if (n) out.write(reinterpret_cast<const char*>(data), std::streamsize(n * sizeof(float)));
  out.close();
  if (!out) return Status(DSHAL_ERROR_DEVICE, path.string() + ": write failed: " + std::strerror(errno));
  return Status();
}

Status read_npy_f32(const std::filesystem::path& path, std::vector<int64_t>* shape, std::vector<float>* data) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(DSHAL_ERROR_NOT_FOUND, path.string() + ": cannot open");
  unsigned char pre[12] = {};
  in.read(reinterpret_cast<char*>(pre), 10);
  if (in.gcount() != 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0) return invalid(path, "not a .npy file (no \\x93NUMPY magic)");
  const int major = pre[6];
  uint64_t header_len = 0;
  if (major == 1) {
    header_len = pre[8] | (uint64_t(pre[9]) << 8);
  } else if (major == 2) {
    in.read(reinterpret_cast<char*>(pre + 10), 2);
    if (in.gcount() != 2) return invalid(path, "truncated header");
    header_len = pre[8] | (uint64_t(pre[9]) << 8) | (uint64_t(pre[10]) << 16) | (uint64_t(pre[11]) << 24);
  } else {
    return invalid(path, fmt::format("format version {}.{} is not supported (1.0, 2.0)", major, int(pre[7])));
  }
  if (header_len > (1u << 20)) return invalid(path, fmt::format("header length {} is implausible", header_len));
  std::string header(header_len, '\0');
  in.read(header.data(), std::streamsize(header_len));
  if (uint64_t(in.gcount()) != header_len) return invalid(path, "truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    return invalid(path, "header has no 'descr'");
  if (m[1] != "<f4") return invalid(path, fmt::format("dtype '{}' is not supported (only '<f4', float32)", m[1].str()));
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    return invalid(path, "header has no 'fortran_order'");
  if (m[1] == "True") return invalid(path, "Fortran order is not supported (only C order)");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) return invalid(path, "header has no 'shape'");
  shape->clear();
  uint64_t n = 1;
  const std::string dims = m[1];
  const std::regex dim_re(R"(\s*(\d+)\s*(,|$))");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const int64_t d = std::stoll((*it)[1]);
    if (d > (int64_t(1) << 40)) return invalid(path, fmt::format("shape ({}) is implausible", dims));
    shape->push_back(d);
    n *= uint64_t(d);
  }
  if (n > (uint64_t(1) << 36)) return invalid(path, fmt::format("shape ({}) is implausibly large", dims));
  data->resize(n);
  in.read(reinterpret_cast<char*>(data->data()), std::streamsize(n * sizeof(float)));
  if (uint64_t(in.gcount()) != n * sizeof(float))
    return invalid(path, fmt::format("truncated: shape ({}) needs {} data bytes, found {}", dims, n * 4, in.gcount()));
  return Status();
}

}  // namespace dshal::model

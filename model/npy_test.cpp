// Tests of .npy writing and reading: round trip, the header layout, and rejected files.
#include "npy.hpp"

#include <fstream>
#include <sstream>

#include "test_util.hpp"

namespace dshal::model::test {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Npy, RoundTripAndHeaderLayout) {
  TempDir dir;
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{2, 3}, {7}, {}, {2, 0, 4}, {1, 2, 3, 4}}) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> data(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) data[size_t(i)] = float(i) * 0.5f - 3.0f;
    const auto path = dir / "a.npy";
    ASSERT_TRUE(write_npy_f32(path, shape, data.data()).ok());
    const std::string bytes = read_all(path);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const size_t header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_EQ(bytes.size(), 10 + header_len + data.size() * 4);
    EXPECT_EQ(bytes[10 + header_len - 1], '\n');
    std::vector<int64_t> shape2;
    std::vector<float> data2;
    const Status s = read_npy_f32(path, &shape2, &data2);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(shape2, shape);
    EXPECT_EQ(data2, data);
  }
  write_npy_f32(dir / "b.npy", {2, 3}, std::vector<float>(6).data()).ok();
  EXPECT_NE(read_all(dir / "b.npy").find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), std::string::npos);
  write_npy_f32(dir / "c.npy", {5}, std::vector<float>(5).data()).ok();
  EXPECT_NE(read_all(dir / "c.npy").find("'shape': (5,), }"), std::string::npos);
}

TEST(Npy, ReadsVersion2) {
  TempDir dir;
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  header.append(64 - (12 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string file("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) file += char((header.size() >> (8 * i)) & 0xff);
  const float v[2] = {1.5f, -2.0f};
  file += header + std::string(reinterpret_cast<const char*>(v), 8);
  write_file(dir / "v2.npy", file);
  std::vector<int64_t> shape;
  std::vector<float> data;
  ASSERT_TRUE(read_npy_f32(dir / "v2.npy", &shape, &data).ok());
  EXPECT_EQ(shape, std::vector<int64_t>{2});
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f}));
}

// A version 1.0 file with the given header dict and data bytes.
std::string npy_v1(const std::string& dict, size_t data_bytes) {
  std::string file("\x93NUMPY\x01\x00", 8);
  file += char(dict.size() & 0xff);
  file += char(dict.size() >> 8);
  return file + dict + std::string(data_bytes, '\0');
}

TEST(Npy, Rejected) {
  TempDir dir;
  const auto path = dir / "bad.npy";
  std::vector<int64_t> shape;
  std::vector<float> data;
  const auto expect = [&](const std::string& bytes, const std::string& part) {
    write_file(path, bytes);
    const Status s = read_npy_f32(path, &shape, &data);
    EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT) << part;
    EXPECT_TRUE(names(s, {path.string(), part}));
  };
  expect("hello world", "magic");
  expect(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16), "'<f8'");
  expect(npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8), "'>f4'");
  expect(npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", 8), "Fortran");
  expect(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 8), "truncated");
  expect(npy_v1("{'descr': '<f4', 'fortran_order': False}\n", 8), "'shape'");
  expect(std::string("\x93NUMPY\x03\x00\x10\x00", 10), "version 3.0");
  EXPECT_EQ(read_npy_f32(dir / "none.npy", &shape, &data).code(), DSHAL_ERROR_NOT_FOUND);
}

}  // namespace
}  // namespace dshal::model::test

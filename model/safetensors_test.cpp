// Tests of safetensors reading and writing: round trip, and every malformed file rejected with a
// message naming the file and the tensor.
#include "safetensors.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include "test_util.hpp"

namespace dshal::model::test {
namespace {

// 8-byte little-endian length + header + data.
std::string raw_file(const std::string& header, size_t data_bytes, uint64_t declared_len = ~0ull) {
  const uint64_t n = declared_len == ~0ull ? header.size() : declared_len;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\x01');
}

class SafetensorsBad : public ::testing::Test {
 protected:
  // Writes `bytes` to t.safetensors and opens it; expects `code` and a message naming the file and `parts`.
  void expect_rejected(const std::string& bytes, std::initializer_list<std::string> parts,
                       dshal_status code = DSHAL_ERROR_INVALID_ARGUMENT) {
    const auto path = dir_ / "t.safetensors";
    write_file(path, bytes);
    std::unique_ptr<SafetensorsFile> f;
    const Status s = SafetensorsFile::open(path, &f);
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_TRUE(names(s, {path.string()}));
    EXPECT_TRUE(names(s, parts));
    EXPECT_EQ(f, nullptr);
  }
  TempDir dir_;
};

TEST(Safetensors, RoundTrip) {
  TempDir dir;
  std::vector<TensorToWrite> ts(4);
  ts[0] = {"a.weight", "F32", {2, 3}, std::vector<std::byte>(24)};
  ts[1] = {"b", "BF16", {3}, std::vector<std::byte>(6)};
  ts[2] = {"empty", "F8_E4M3", {0, 5}, {}};
  ts[3] = {"c", "U8", {5}, std::vector<std::byte>(5)};
  for (size_t i = 0; i < ts.size(); ++i)
    for (size_t j = 0; j < ts[i].data.size(); ++j) ts[i].data[j] = std::byte(i * 16 + j);
  const auto path = dir / "m.safetensors";
  ASSERT_TRUE(write_safetensors(path, ts, {{"format", "pt"}}).ok());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  std::unique_ptr<SafetensorsFile> f;
  const Status s = SafetensorsFile::open(path, &f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(f->data_start() % 8, 0u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  ASSERT_EQ(f->tensors().size(), 4u);
  uint64_t expect_offset = f->data_start();
  for (const TensorToWrite& w : ts) {
    const TensorView& t = f->tensors().at(w.name);
    EXPECT_EQ(t.name, w.name);
    EXPECT_EQ(t.dtype_name, w.dtype_name);
    EXPECT_EQ(t.shape, w.shape);
    EXPECT_EQ(t.bytes, w.data.size());
    EXPECT_EQ(t.file_offset, expect_offset) << "packed contiguously in the given order";
    EXPECT_EQ(t.data, f->base() + t.file_offset);
    EXPECT_EQ(t.owner, f.get());
    EXPECT_EQ(t.file, path.string());
    EXPECT_EQ(std::memcmp(t.data, w.data.data(), w.data.size()), 0);
    expect_offset += t.bytes;
  }
  EXPECT_EQ(expect_offset, f->size());
  EXPECT_EQ(f->tensors().at("a.weight").dtype, DSHAL_DTYPE_F32);
  EXPECT_EQ(f->tensors().at("b").dtype, DSHAL_DTYPE_BF16);
  EXPECT_EQ(f->tensors().at("empty").dtype, DSHAL_DTYPE_FP8_E4M3);
  f->release_pages(0, f->size());  // harmless; data reads back from the file
  EXPECT_EQ(std::memcmp(f->tensors().at("c").data, ts[3].data.data(), 5), 0);
}

TEST(Safetensors, WriteRejectsSizeMismatch) {
  TempDir dir;
  const auto path = dir / "m.safetensors";
  const Status s = write_safetensors(path, {{"x", "F32", {4}, std::vector<std::byte>(15)}});
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {path.string(), "'x'"}));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(Safetensors, MissingFileIsNotFound) {
  std::unique_ptr<SafetensorsFile> f;
  const Status s = SafetensorsFile::open("/nonexistent/x.safetensors", &f);
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {"/nonexistent/x.safetensors"}));
}

TEST_F(SafetensorsBad, TruncatedBelowEightBytes) {
  expect_rejected("", {"truncated", "0 bytes"});
  expect_rejected(std::string("\x10\x00\x00", 3), {"truncated", "3 bytes"});
}

TEST_F(SafetensorsBad, HeaderLengthExceedsFile) { expect_rejected(raw_file("{}", 0, 4096), {"header length 4096", "exceeds"}); }

TEST_F(SafetensorsBad, HeaderLengthOver100MB) {
  expect_rejected(raw_file("{}", 0, 200ull << 20), {"header length 209715200", "100 MB"});
  expect_rejected(raw_file("{}", 0, ~0ull - 1), {"100 MB"});
}

TEST_F(SafetensorsBad, GarbledJson) {
  expect_rejected(raw_file("{\"x\": {\"dtype\": ", 0), {"not valid JSON"});
  expect_rejected(raw_file("[1,2,3]", 0), {"not a JSON object"});
}

TEST_F(SafetensorsBad, DataShorterThanHeaderSays) {
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 12),
                  {"'w'", "data_offsets [0, 16]", "12 bytes", "truncated"});
}

TEST_F(SafetensorsBad, OffsetsOutOfRange) {
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [100, 104]}})", 16), {"'w'", "[100, 104]"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 16), {"'w'", "[8, 4]"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 16), {"'w'", "data_offsets"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 16), {"'w'", "data_offsets"});
}

TEST_F(SafetensorsBad, OverlappingTensors) {
  expect_rejected(raw_file(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                           16),
                  {"'a'", "'b'", "overlap"});
}

TEST_F(SafetensorsBad, ShapeDtypeSizeMismatch) {
  expect_rejected(raw_file(R"({"w": {"dtype": "BF16", "shape": [3, 3], "data_offsets": [0, 16]}})", 16),
                  {"'w'", "[3,3]", "BF16", "18 bytes", "hold 16"});
}

TEST_F(SafetensorsBad, NegativeDim) {
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}})", 16), {"'w'", "negative"});
}

TEST_F(SafetensorsBad, UnknownOrUnsupportedDtype) {
  for (const char* dt : {"F64", "I64", "BOOL", "F8_E5M2", "Q4"}) {
    SCOPED_TRACE(dt);
    expect_rejected(raw_file(std::string(R"({"w": {"dtype": ")") + dt + R"(", "shape": [1], "data_offsets": [0, 8]}})", 8),
                    {"'w'", std::string("dtype ") + dt});
  }
}

TEST_F(SafetensorsBad, EntryMissingFieldsOrWrongTypes) {
  expect_rejected(raw_file(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4), {"'w'", "'dtype'"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4), {"'w'", "'shape'"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1]}})", 4), {"'w'", "'data_offsets'"});
  expect_rejected(raw_file(R"({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})", 4), {"'w'", "dtype"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}})", 4), {"'w'", "shape"});
  expect_rejected(raw_file(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4), {"'w'", "shape"});
  expect_rejected(raw_file(R"({"w": [1, 2]})", 4), {"'w'"});
  expect_rejected(raw_file(R"({"__metadata__": {"format": 3}})", 0), {"__metadata__"});
}

// Every prefix of a valid file, and every single-byte corruption of its header, is rejected cleanly
// or (for corruptions that still describe a valid file) accepted; nothing crashes.
TEST(Safetensors, EveryTruncationAndHeaderCorruption) {
  TempDir dir;
  const auto good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  ASSERT_TRUE(write_safetensors(good, {{"a", "F32", {3}, std::vector<std::byte>(12)}, {"b", "BF16", {2, 2}, std::vector<std::byte>(8)}}).ok());
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t n = 0; n < bytes.size(); ++n) {
    write_file(bad, bytes.substr(0, n));
    std::unique_ptr<SafetensorsFile> f;
    const Status s = SafetensorsFile::open(bad, &f);
    EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT) << n;
    EXPECT_TRUE(names(s, {bad.string()}));
  }
  for (size_t i = 0; i < bytes.size() - 20; ++i)
    for (const char c : {'\0', '"', '9', '-', '}', '\xff'}) {
      std::string b = bytes;
      b[i] = c;
      write_file(bad, b);
      std::unique_ptr<SafetensorsFile> f;
      const Status s = SafetensorsFile::open(bad, &f);
      if (!s.ok()) {
        EXPECT_TRUE(names(s, {bad.string()}));
      }
    }
}

TEST(Safetensors, ZeroByteTensorsAndGapsAreFine) {
  TempDir dir;
  const auto path = dir / "z.safetensors";
  write_file(path, raw_file(R"({"z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
                               "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                               "b": {"dtype": "U8", "shape": [2], "data_offsets": [6, 8]}})",
                            8));
  std::unique_ptr<SafetensorsFile> f;
  const Status s = SafetensorsFile::open(path, &f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(f->tensors().at("z").bytes, 0u);
}

}  // namespace
}  // namespace dshal::model::test

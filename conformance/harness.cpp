// The conformance harness (see harness.hpp).
#include "harness.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

std::vector<std::string>& ids() {
  static std::vector<std::string> v;
  return v;
}

struct Opened {
  Device device;
  Stream stream;
};

std::map<std::string, std::unique_ptr<Opened>>& opened() {
  static std::map<std::string, std::unique_ptr<Opened>> m;
  return m;
}

Opened& open(const std::string& id) {
  auto& slot = opened()[id];
  if (!slot) {
    slot = std::make_unique<Opened>();
    Status st = open_device(id, &slot->device);
    if (!st.ok()) throw std::runtime_error("cannot open " + id + ": " + st.to_string());
    st = slot->device.create_stream(&slot->stream);
    if (!st.ok()) throw std::runtime_error("cannot create a stream on " + id + ": " + st.to_string());
  }
  return *slot;
}

}  // namespace

void set_device_ids(std::vector<std::string> v) { ids() = std::move(v); }
const std::vector<std::string>& device_ids() { return ids(); }

std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

const Device& device(const std::string& id) { return open(id).device; }
const Stream& stream(const std::string& id) { return open(id).stream; }
void close_devices() { opened().clear(); }

std::vector<std::string> sibling_ids(const std::string& id) {
  const std::string backend = id.substr(0, id.find(':'));
  std::vector<BackendInfo> backends;
  (void)list_backends(&backends);
  std::vector<std::string> out;
  for (const BackendInfo& b : backends)
    if (b.name == backend)
      for (uint32_t i = 0; i < b.device_count; ++i) out.push_back(backend + ":" + std::to_string(i));
  return out;
}

Buffer upload_bytes(const std::string& id, const void* data, uint64_t bytes) {
  Buffer b;
  Status st = device(id).alloc(bytes, &b);
  if (st.ok()) st = stream(id).copy_h2d(data, b, 0, bytes);
  if (st.ok()) st = stream(id).synchronize();
  EXPECT_TRUE(st.ok()) << "upload of " << bytes << " bytes: " << st.to_string();
  return b;
}

std::vector<std::byte> download_bytes(const std::string& id, const Buffer& b, uint64_t offset, uint64_t bytes) {
  std::vector<std::byte> out(bytes);
  Status st = stream(id).copy_d2h(b, offset, out.data(), bytes);
  if (st.ok()) st = stream(id).synchronize();
  EXPECT_TRUE(st.ok()) << "download of " << bytes << " bytes: " << st.to_string();
  return out;
}

Guarded::Guarded(const std::string& id, uint64_t bytes, uint8_t fill) : id_(id), bytes_(bytes) {
  std::vector<uint8_t> init(bytes + 2 * kGuard, kPattern);
  std::fill(init.begin() + kGuard, init.begin() + kGuard + bytes, fill);
  buffer_ = upload(id, init);
}

std::vector<std::byte> Guarded::read_checked() const {
  std::vector<std::byte> all = download_bytes(id_, buffer_, 0, bytes_ + 2 * kGuard);
  if (all.size() != bytes_ + 2 * kGuard) return {};
  for (uint64_t i = 0; i < kGuard; ++i) {
    if (all[i] != std::byte{kPattern}) {
      ADD_FAILURE() << "out-of-bounds write: guard byte " << (kGuard - i) << " before the output changed";
      break;
    }
  }
  for (uint64_t i = 0; i < kGuard; ++i) {
    if (all[kGuard + bytes_ + i] != std::byte{kPattern}) {
      ADD_FAILURE() << "out-of-bounds write: guard byte " << i << " after the output changed";
      break;
    }
  }
  return std::vector<std::byte>(all.begin() + kGuard, all.begin() + kGuard + bytes_);
}

Comparison compare(const std::vector<double>& ref, const std::vector<float>& got, const std::vector<double>& bound) {
  Comparison c;
  double err2 = 0, ref2 = 0;
  const size_t n = std::min(ref.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i], g = got[i];
    if (std::isfinite(r) && !std::isfinite(g)) {
      ++c.nonfinite;
      continue;
    }
    const double e = std::fabs(g - r);
    err2 += e * e;
    ref2 += r * r;
    c.max_abs_err = std::max(c.max_abs_err, e);
    if (r != 0) c.max_rel_err = std::max(c.max_rel_err, e / std::fabs(r));
    const double ratio = bound[i] > 0 ? e / bound[i] : (e > 0 ? INFINITY : 0);
    if (ratio > c.worst_ratio || i == 0) {
      c.worst_ratio = ratio;
      c.tolerance = bound[i];
      c.worst_index = i;
    }
  }
  c.nmse = ref2 > 0 ? err2 / ref2 : err2;
  if (ref.size() != got.size()) c.nonfinite += std::max(ref.size(), got.size()) - n;
  return c;
}

void expect_within(const Comparison& c, const std::string& what) {
  testing::Test::RecordProperty("max_abs_err", fmt::format("{:.9g}", c.max_abs_err));
  testing::Test::RecordProperty("nmse", fmt::format("{:.9g}", c.nmse));
  testing::Test::RecordProperty("tolerance", fmt::format("{:.9g}", c.tolerance));
  testing::Test::RecordProperty("error_ratio", fmt::format("{:.9g}", c.worst_ratio));
  EXPECT_EQ(c.nonfinite, 0u) << what << ": " << c.nonfinite << " NaN/Inf (or missing) outputs where the reference is finite";
  EXPECT_LE(c.worst_ratio, 1.0) << what << ": element " << c.worst_index << " is off by " << c.worst_ratio
                                << "x its tolerance " << c.tolerance << " (max abs err " << c.max_abs_err
                                << ", nmse " << c.nmse << ")";
}

std::vector<float> random_values(uint64_t n, uint64_t seed, dshal_dtype round_to) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
    if (round_to == DSHAL_DTYPE_BF16) x = bf16_to_f32(f32_to_bf16(x));
    if (round_to == DSHAL_DTYPE_F16) x = f16_to_f32(f32_to_f16(x));
  }
  return v;
}

std::vector<std::byte> encode(const std::vector<float>& v, dshal_dtype t) {
  std::vector<std::byte> out(storage_bytes(t, v.size()));
  for (size_t i = 0; i < v.size(); ++i) store_f32(out.data(), t, i, v[i]);
  return out;
}

std::vector<float> decode(const std::vector<std::byte>& raw, dshal_dtype t) {
  const uint32_t eb = dtype_bytes(t);
  std::vector<float> out(eb ? raw.size() / eb : 0);
  for (size_t i = 0; i < out.size(); ++i) out[i] = load_f32(raw.data(), t, i);
  return out;
}

}  // namespace dshal::conformance

// core tier: all_to_all over every device of the backend under test, with uneven and zero counts.
#include <numeric>

#include <fmt/format.h>

#include "harness.hpp"

namespace dshal::conformance {
namespace {

class AllToAll : public DeviceTest {
 protected:
  // counts[r][p]: elements rank r sends to rank p.
  void exchange(const std::vector<std::vector<uint64_t>>& counts, uint32_t elem_bytes) {
    const std::vector<std::string> ids = sibling_ids(id());
    const size_t n = ids.size();
    ASSERT_EQ(counts.size(), n);
    std::vector<const Device*> devs;
    for (const std::string& d : ids) devs.push_back(&device(d));
    Communicator comm;
    DSHAL_ASSERT_OK(Communicator::create(devs, &comm));
    ASSERT_EQ(comm.size(), n);

    std::vector<std::vector<uint64_t>> sdispl(n, std::vector<uint64_t>(n)), rcount(n, std::vector<uint64_t>(n)),
        rdispl(n, std::vector<uint64_t>(n));
    std::vector<Buffer> send(n);
    std::vector<std::unique_ptr<Guarded>> recv(n);
    std::vector<std::vector<uint8_t>> send_data(n);
    for (size_t r = 0; r < n; ++r) {
      uint64_t off = 1;  // a gap before the first block, and blocks in reverse peer order
      for (size_t p = n; p-- > 0;) {
        sdispl[r][p] = off;
        off += counts[r][p] + 1;
      }
      send_data[r].resize(off * elem_bytes);
      for (size_t i = 0; i < send_data[r].size(); ++i) send_data[r][i] = uint8_t(r * 37 + i * 11 + (i >> 7));
      send[r] = upload(ids[r], send_data[r]);
      uint64_t roff = 0;
      for (size_t p = 0; p < n; ++p) {
        rcount[r][p] = counts[p][r];
        rdispl[r][p] = roff;
        roff += counts[p][r];
      }
      recv[r] = std::make_unique<Guarded>(ids[r], roff * elem_bytes, 0xee);
    }
    std::vector<dshal_all_to_all_rank> ranks(n);
    for (size_t r = 0; r < n; ++r) {
      ranks[r].stream = stream_handle(stream(ids[r]));
      ranks[r].send = ref(send[r]);
      ranks[r].send_counts = counts[r].data();
      ranks[r].send_displs = sdispl[r].data();
      ranks[r].recv = dshal_buffer_ref{recv[r]->handle(), recv[r]->offset()};
      ranks[r].recv_counts = rcount[r].data();
      ranks[r].recv_displs = rdispl[r].data();
    }
    auto d = desc<dshal_all_to_all_desc>();
    d.elem_bytes = elem_bytes;
    d.rank_count = uint32_t(n);
    d.ranks = ranks.data();
    DSHAL_ASSERT_OK(comm.all_to_all(d));
    for (size_t r = 0; r < n; ++r) DSHAL_ASSERT_OK(stream(ids[r]).synchronize());
    for (size_t r = 0; r < n; ++r) {
      const std::vector<std::byte> got = recv[r]->read_checked();
      for (size_t p = 0; p < n; ++p) {
        for (uint64_t e = 0; e < counts[p][r] * elem_bytes; ++e) {
          const uint8_t want = send_data[p][sdispl[p][r] * elem_bytes + e];
          ASSERT_EQ(uint8_t(got[rdispl[r][p] * elem_bytes + e]), want)
              << fmt::format("rank {} byte {} of the block from rank {}", r, e, p);
        }
      }
    }
    RecordProperty("ranks", int(n));
  }
};

TEST_P(AllToAll, UnevenCounts) {
  const size_t n = sibling_ids(id()).size();
  std::vector<std::vector<uint64_t>> counts(n, std::vector<uint64_t>(n));
  for (size_t r = 0; r < n; ++r)
    for (size_t p = 0; p < n; ++p) counts[r][p] = (r * 7 + p * 3) % 5 * 13 + (r == p ? 1 : 0);
  exchange(counts, 4);
}

TEST_P(AllToAll, ZeroCountsAndEmptyRanks) {
  const size_t n = sibling_ids(id()).size();
  std::vector<std::vector<uint64_t>> counts(n, std::vector<uint64_t>(n, 0));
  // Rank 0 sends to everyone; the last rank receives but sends nothing; the rest send only to rank 0.
  for (size_t p = 0; p < n; ++p) counts[0][p] = 3 + p;
  for (size_t r = 1; r + 1 < n; ++r) counts[r][0] = 5;
  exchange(counts, 2);
}

TEST_P(AllToAll, DeepSeekDispatchRows) {
  // Token rows of 7168 bf16 (one DeepSeek hidden state each), spread unevenly, as a dispatch moves them.
  const size_t n = sibling_ids(id()).size();
  std::vector<std::vector<uint64_t>> counts(n, std::vector<uint64_t>(n));
  for (size_t r = 0; r < n; ++r)
    for (size_t p = 0; p < n; ++p) counts[r][p] = ((r + 2 * p) % 3) * 7168;
  exchange(counts, 2);
}

DSHAL_INSTANTIATE(core, AllToAll);

}  // namespace
}  // namespace dshal::conformance

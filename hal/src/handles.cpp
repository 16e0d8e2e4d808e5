// The C++ handles' calls that are not compute: devices, buffers, copies, streams, events,
// communicators, and the release of each.
#include <dshal/dshal.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "host/dtype.hpp"
#include "objects.hpp"
#include "operands.hpp"
#include "registry.hpp"
#include "staged_all_to_all.hpp"

namespace dshal {
using namespace detail;

namespace {

Status empty_handle(const char* what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: an empty handle", what));
}

Status check_range(const char* op, const char* name, const BufferObj* b, uint64_t offset, uint64_t bytes) {
  if (!b) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: {} is an empty Buffer handle", op, name));
  if (offset > b->size || bytes > b->size - offset)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: {} offset {} + {} bytes exceeds the buffer's {} bytes",
                                                            op, name, offset, bytes, b->size));
  return {};
}

Status check_stream_device(const char* op, const char* name, const StreamObj* s, const BufferObj* b) {
  if (b->device != s->device)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("{}: {} lives on {}, but the stream is on {}", op, name, b->device->id, s->device->id));
  return {};
}

template <typename T>
T* track(T* obj) {
  register_live(obj);
  retain(obj->device);
  return obj;
}

}  // namespace

// ---- reference counting and release -----------------------------------------------------------------

void detail::retain(DeviceObj* d) { d->refs.fetch_add(1, std::memory_order_relaxed); }

void detail::drop(DeviceObj* d) {
  if (d->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  unregister_live(d);
  d->table->device_close(d->handle);
  delete d;
}

void detail::release(DeviceObj* d) { drop(d); }

void detail::release(BufferObj* b) {
  unregister_live(b);
  if (b->handle) {
    DeviceObj* d = b->device;
    std::lock_guard lock(d->streams_mutex);
    for (StreamObj* s : d->streams) {
      Status st = adapter_status(d->table, d->table->stream_synchronize(s->handle), "stream_synchronize");
      std::lock_guard pl(s->pending_mutex);
      if (!st.ok() && s->pending.ok()) s->pending = st;
    }
    d->table->buffer_free(b->handle);
  }
  drop(b->device);
  delete b;
}

void detail::release(StreamObj* s) {
  unregister_live(s);
  {
    std::lock_guard lock(s->device->streams_mutex);
    auto& v = s->device->streams;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
  }
  s->device->table->stream_destroy(s->handle);
  drop(s->device);
  delete s;
}

void detail::release(EventObj* e) {
  unregister_live(e);
  e->device->table->event_destroy(e->handle);
  drop(e->device);
  delete e;
}

void detail::release(CommObj* c) {
  unregister_live(c);
  if (c->table) c->table->comm_destroy(c->handle);
  for (DeviceObj* d : c->devices) drop(d);
  delete c;
}

// ---- Device -----------------------------------------------------------------------------------------

const std::string& Device::id() const { return get()->id; }
const std::string& Device::backend() const { return get()->backend; }
const dshal_device_properties& Device::properties() const { return get()->props; }
uint32_t Device::abi_version() const { return get()->table->abi_version; }

std::array<uint64_t, DSHAL_OP_COUNT> Device::fallback_counts() const {
  std::array<uint64_t, DSHAL_OP_COUNT> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = get()->fallbacks[i].load(std::memory_order_relaxed);
  return out;
}

std::array<uint64_t, DSHAL_OP_COUNT> Device::native_counts() const {
  std::array<uint64_t, DSHAL_OP_COUNT> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = get()->natives[i].load(std::memory_order_relaxed);
  return out;
}

Status Device::alloc(uint64_t bytes, Buffer* out) const {
  *out = Buffer();
  DeviceObj* d = get();
  if (!d) return empty_handle("alloc");
  if (bytes > d->props.max_alloc_bytes)
    return Status(DSHAL_ERROR_OUT_OF_MEMORY, fmt::format("alloc: {} bytes exceeds {}'s largest allocation of {} bytes",
                                                         bytes, d->id, d->props.max_alloc_bytes));
  dshal_buffer h = nullptr;
  if (bytes > 0)
    DSHAL_RETURN_IF_ERROR(adapter_status(d->table, d->table->buffer_alloc(d->handle, bytes, &h),
                                         fmt::format("alloc of {} bytes on {}", bytes, d->id).c_str()));
  *out = Buffer(track(new BufferObj{kBufferMagic, d, h, bytes}));
  return {};
}

Status Device::import_host_memory(void* ptr, uint64_t bytes, Buffer* out) const {
  *out = Buffer();
  DeviceObj* d = get();
  if (!d) return empty_handle("import_host_memory");
  if (!(d->props.flags & DSHAL_DEVICE_HOST_SHARED_MEMORY) || !d->table->import_host_memory)
    return Status(DSHAL_ERROR_UNSUPPORTED, fmt::format("import_host_memory: {} does not share host memory", d->id));
  if (!ptr || bytes == 0)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("import_host_memory: ptr = {}, bytes = {}: need memory to wrap", ptr, bytes));
  dshal_buffer h = nullptr;
  DSHAL_RETURN_IF_ERROR(adapter_status(d->table, d->table->import_host_memory(d->handle, ptr, bytes, &h), "import_host_memory"));
  *out = Buffer(track(new BufferObj{kBufferMagic, d, h, bytes}));
  return {};
}

Status Device::create_stream(Stream* out) const {
  *out = Stream();
  DeviceObj* d = get();
  if (!d) return empty_handle("create_stream");
  dshal_stream h = nullptr;
  DSHAL_RETURN_IF_ERROR(adapter_status(d->table, d->table->stream_create(d->handle, &h), "stream_create"));
  auto* s = new StreamObj;
  s->device = d;
  s->handle = h;
  {
    std::lock_guard lock(d->streams_mutex);
    d->streams.push_back(s);
  }
  *out = Stream(track(s));
  return {};
}

Status Device::create_event(Event* out) const {
  *out = Event();
  DeviceObj* d = get();
  if (!d) return empty_handle("create_event");
  dshal_event h = nullptr;
  DSHAL_RETURN_IF_ERROR(adapter_status(d->table, d->table->event_create(d->handle, &h), "event_create"));
  *out = Event(track(new EventObj{kEventMagic, d, h}));
  return {};
}

// ---- Buffer -----------------------------------------------------------------------------------------

uint64_t Buffer::size() const { return get() ? get()->size : 0; }
dshal_buffer Buffer::handle() const { return reinterpret_cast<dshal_buffer>(get()); }

// ---- Stream: transfers and ordering -------------------------------------------------------------------

Status Stream::copy_h2d(const void* src, const Buffer& dst, uint64_t dst_offset, uint64_t bytes) const {
  const StreamObj* s = get();
  if (!s) return empty_handle("copy_h2d");
  DSHAL_RETURN_IF_ERROR(check_range("copy_h2d", "dst", dst.get(), dst_offset, bytes));
  DSHAL_RETURN_IF_ERROR(check_stream_device("copy_h2d", "dst", s, dst.get()));
  if (bytes == 0) return {};
  if (!src) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "copy_h2d: src is NULL");
  return adapter_status(s->device->table, s->device->table->copy_h2d(s->handle, src, dst.get()->handle, dst_offset, bytes), "copy_h2d");
}

Status Stream::copy_d2h(const Buffer& src, uint64_t src_offset, void* dst, uint64_t bytes) const {
  const StreamObj* s = get();
  if (!s) return empty_handle("copy_d2h");
  DSHAL_RETURN_IF_ERROR(check_range("copy_d2h", "src", src.get(), src_offset, bytes));
  DSHAL_RETURN_IF_ERROR(check_stream_device("copy_d2h", "src", s, src.get()));
  if (bytes == 0) return {};
  if (!dst) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "copy_d2h: dst is NULL");
  return adapter_status(s->device->table, s->device->table->copy_d2h(s->handle, src.get()->handle, src_offset, dst, bytes), "copy_d2h");
}

Status Stream::copy_d2d(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset,
                        uint64_t bytes) const {
  const StreamObj* s = get();
  if (!s) return empty_handle("copy_d2d");
  DSHAL_RETURN_IF_ERROR(check_range("copy_d2d", "src", src.get(), src_offset, bytes));
  DSHAL_RETURN_IF_ERROR(check_range("copy_d2d", "dst", dst.get(), dst_offset, bytes));
  if (src.get()->device->table != s->device->table || dst.get()->device->table != s->device->table)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("copy_d2d: {} -> {} crosses adapters; stage through the host", src.get()->device->id, dst.get()->device->id));
  if (bytes == 0) return {};
  if (src.get() == dst.get() && src_offset < dst_offset + bytes && dst_offset < src_offset + bytes)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("copy_d2d: ranges [{}, {}) and [{}, {}) of one buffer overlap", src_offset,
                              src_offset + bytes, dst_offset, dst_offset + bytes));
  return adapter_status(s->device->table,
                        s->device->table->copy_d2d(s->handle, src.get()->handle, src_offset, dst.get()->handle, dst_offset, bytes),
                        "copy_d2d");
}

Status Stream::fill(const Buffer& dst, uint64_t offset, uint64_t bytes, const void* pattern, uint32_t pattern_bytes) const {
  const StreamObj* s = get();
  if (!s) return empty_handle("fill");
  if (pattern_bytes != 1 && pattern_bytes != 2 && pattern_bytes != 4)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("fill: pattern_bytes = {} must be 1, 2 or 4", pattern_bytes));
  if (bytes % pattern_bytes != 0)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("fill: bytes = {} is not a multiple of pattern_bytes = {}", bytes, pattern_bytes));
  if (!pattern) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "fill: pattern is NULL");
  DSHAL_RETURN_IF_ERROR(check_range("fill", "dst", dst.get(), offset, bytes));
  DSHAL_RETURN_IF_ERROR(check_stream_device("fill", "dst", s, dst.get()));
  if (bytes == 0) return {};
  return adapter_status(s->device->table, s->device->table->fill(s->handle, dst.get()->handle, offset, bytes, pattern, pattern_bytes), "fill");
}

Status Stream::prepack_weight(const dshal_prepack_desc& in, Buffer* out) const {
  *out = Buffer();
  const StreamObj* s = get();
  if (!s) return empty_handle("prepack_weight");
  dshal_prepack_desc d = in;
  OperandList ops;
  DSHAL_RETURN_IF_ERROR(describe(d, &ops));
  DSHAL_RETURN_IF_ERROR(check_and_translate(*s->device, ops));
  DeviceObj* dev = s->device;
  const dshal_adapter_table* t = dev->table;
  const uint64_t plain_bytes = ops.items.at(0).bytes;  // the weight range; scales stay where they are
  dshal_buffer h = nullptr;
  if (t->prepack_weight && (!t->query_op || t->query_op(dev->handle, DSHAL_OP_PREPACK_WEIGHT, &d) == DSHAL_OK)) {
    dev->natives[DSHAL_OP_PREPACK_WEIGHT].fetch_add(1, std::memory_order_relaxed);
    DSHAL_RETURN_IF_ERROR(adapter_status(t, t->prepack_weight(s->handle, &d, &h), "prepack_weight"));
  } else {
    dev->fallbacks[DSHAL_OP_PREPACK_WEIGHT].fetch_add(1, std::memory_order_relaxed);
    DSHAL_RETURN_IF_ERROR(adapter_status(t, t->buffer_alloc(dev->handle, plain_bytes, &h), "prepack_weight (plain copy)"));
    if (dshal_status st = t->copy_d2d(s->handle, d.w.buffer, d.w.offset, h, 0, plain_bytes); st != DSHAL_OK) {
      Status err = adapter_status(t, st, "prepack_weight (plain copy)");
      t->buffer_free(h);
      return err;
    }
  }
  *out = Buffer(track(new BufferObj{kBufferMagic, dev, h, plain_bytes}));
  return {};
}

Status Stream::record(const Event& event) const {
  if (!get() || !event.get()) return empty_handle("record");
  if (event.get()->device->table != get()->device->table)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, "record: the event and the stream belong to different adapters");
  return adapter_status(get()->device->table, get()->device->table->event_record(event.get()->handle, get()->handle), "event_record");
}

Status Stream::wait(const Event& event) const {
  if (!get() || !event.get()) return empty_handle("wait");
  if (event.get()->device->table != get()->device->table)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, "wait: the event and the stream belong to different adapters");
  return adapter_status(get()->device->table, get()->device->table->stream_wait_event(get()->handle, event.get()->handle),
                        "stream_wait_event");
}

Status Stream::synchronize() const {
  StreamObj* s = get();
  if (!s) return empty_handle("synchronize");
  Status st = adapter_status(s->device->table, s->device->table->stream_synchronize(s->handle), "stream_synchronize");
  std::lock_guard lock(s->pending_mutex);
  if (!s->pending.ok()) return std::exchange(s->pending, Status());
  return st;
}

Status Stream::device_time(uint64_t* ns) const {
  *ns = 0;
  StreamObj* s = get();
  if (!s) return empty_handle("device_time");
  const dshal_adapter_table* t = s->device->table;
  if (t->struct_size < offsetof(dshal_adapter_table, stream_device_time) + sizeof(void*) || !t->stream_device_time)
    return Status(DSHAL_ERROR_UNSUPPORTED, fmt::format("device_time: {} does not report device time", s->device->id));
  return adapter_status(t, t->stream_device_time(s->handle, ns), "stream_device_time");
}

dshal_stream stream_handle(const Stream& s) { return reinterpret_cast<dshal_stream>(s.get()); }

// ---- Event ------------------------------------------------------------------------------------------

Status Event::query() const {
  if (!get()) return empty_handle("event query");
  const dshal_status st = get()->device->table->event_query(get()->handle);
  if (st == DSHAL_ERROR_NOT_READY) return Status(st, "the event's work is still running");
  return adapter_status(get()->device->table, st, "event_query");
}

Status Event::synchronize() const {
  if (!get()) return empty_handle("event synchronize");
  return adapter_status(get()->device->table, get()->device->table->event_synchronize(get()->handle), "event_synchronize");
}

// ---- Communicator -----------------------------------------------------------------------------------

Status Communicator::create(std::span<const Device* const> devices, Communicator* out) {
  *out = Communicator();
  if (devices.empty()) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "communicator: no devices");
  std::vector<dshal_device> handles;
  std::vector<DeviceObj*> objs;
  for (size_t i = 0; i < devices.size(); ++i) {
    DeviceObj* d = devices[i] ? devices[i]->get() : nullptr;
    if (!d) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("communicator: device {} is an empty handle", i));
    for (DeviceObj* o : objs)
      if (o->handle == d->handle || o->id == d->id)
        return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("communicator: {} is listed twice", d->id));
    objs.push_back(d);
    handles.push_back(d->handle);
  }
  // One adapter: its own exchange. Several: staged through host memory by hal (table NULL).
  const dshal_adapter_table* t = objs[0]->table;
  for (DeviceObj* d : objs)
    if (d->table != t) t = nullptr;
  dshal_comm h = nullptr;
  if (t) DSHAL_RETURN_IF_ERROR(adapter_status(t, t->comm_create(handles.data(), uint32_t(handles.size()), &h), "comm_create"));
  auto* c = new CommObj{kCommMagic, t, h, objs, 0, uint32_t(objs.size())};
  for (DeviceObj* d : objs) retain(d);
  register_live(c);
  *out = Communicator(c);
  return {};
}

namespace {

bool has_rank_slots(const dshal_adapter_table* t) {
  return t->struct_size >= offsetof(dshal_adapter_table, comm_create_rank) + sizeof(void*) && t->comm_id_create &&
         t->comm_create_rank;
}

}  // namespace

bool Communicator::spans_processes(const Device& device) { return device.get() && has_rank_slots(device.get()->table); }

Status Communicator::make_id(const Device& device, dshal_comm_id* out) {
  *out = dshal_comm_id{};
  DeviceObj* d = device.get();
  if (!d) return empty_handle("communicator id");
  if (!has_rank_slots(d->table))
    return Status(DSHAL_ERROR_UNSUPPORTED, fmt::format("communicator id: {} has no transport across processes", d->id));
  return adapter_status(d->table, d->table->comm_id_create(d->handle, out), "comm_id_create");
}

Status Communicator::join(const Device& device, const dshal_comm_id& id, uint32_t rank, uint32_t size,
                          Communicator* out) {
  *out = Communicator();
  DeviceObj* d = device.get();
  if (!d) return empty_handle("communicator join");
  if (!has_rank_slots(d->table))
    return Status(DSHAL_ERROR_UNSUPPORTED, fmt::format("communicator join: {} has no transport across processes", d->id));
  if (size == 0 || rank >= size)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("communicator join: rank {} of {} ranks", rank, size));
  dshal_comm h = nullptr;
  DSHAL_RETURN_IF_ERROR(adapter_status(d->table, d->table->comm_create_rank(d->handle, &id, rank, size, &h), "comm_create_rank"));
  auto* c = new CommObj{kCommMagic, d->table, h, {d}, rank, size};
  retain(d);
  register_live(c);
  *out = Communicator(c);
  return {};
}

uint32_t Communicator::size() const { return get() ? get()->world_size : 0; }

Status Communicator::all_to_all(const dshal_all_to_all_desc& in) const {
  const char* op = "all_to_all";
  const CommObj* c = get();
  if (!c) return empty_handle(op);
  DSHAL_RETURN_IF_ERROR(check_struct_size(in, op));
  // Local ranks r (this process's, global rank base + r) and counts over all `world` ranks; the
  // counts of senders in other processes are not visible here.
  const uint32_t n = uint32_t(c->devices.size()), base = c->first_rank, world = c->world_size;
  if (in.rank_count != n || !in.ranks)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: rank_count = {} must equal the communicator's {} local ranks", op, in.rank_count, n));
  if (in.elem_bytes == 0) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: elem_bytes = 0", op));
  std::vector<dshal_all_to_all_rank> ranks(in.ranks, in.ranks + n);
  for (uint32_t r = 0; r < n; ++r) {
    dshal_all_to_all_rank& k = ranks[r];
    const StreamObj* s = stream_obj(k.stream);
    if (!s) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}].stream is not a live dshal stream", op, r));
    if (s->device != c->devices[r])
      return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}].stream is on {}, rank {} is {}", op, r, s->device->id, r, c->devices[r]->id));
    for (uint32_t q = 0; q < r; ++q)
      if (in.ranks[q].stream == k.stream) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks {} and {} share a stream", op, q, r));
    if (!k.send_counts || !k.send_displs || !k.recv_counts || !k.recv_displs)
      return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}] lacks a counts or displacements array", op, r));
    unsigned __int128 send_end128 = 0, recv_end128 = 0;  // wide: huge counts must not wrap past the checks
    for (uint32_t p = 0; p < world; ++p) {
      using u128 = unsigned __int128;
      if (k.send_counts[p] > 0) send_end128 = std::max(send_end128, (u128(k.send_displs[p]) + k.send_counts[p]) * in.elem_bytes);
      if (k.recv_counts[p] > 0) recv_end128 = std::max(recv_end128, (u128(k.recv_displs[p]) + k.recv_counts[p]) * in.elem_bytes);
      const bool local_sender = p >= base && p - base < n;
      if (local_sender && in.ranks[p - base].send_counts && in.ranks[p - base].send_counts[base + r] != k.recv_counts[p])
        return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                      fmt::format("{}: rank {} sends {} elements to rank {}, which expects recv_counts[{}] = {}", op, p,
                                  in.ranks[p - base].send_counts[base + r], base + r, p, k.recv_counts[p]));
    }
    if (send_end128 > UINT64_MAX || recv_end128 > UINT64_MAX)
      return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}] counts and displacements exceed 2^64 bytes", op, r));
    const uint64_t send_end = uint64_t(send_end128), recv_end = uint64_t(recv_end128);
    for (auto [name, ref, end] : {std::tuple{"send", &k.send, send_end}, {"recv", &k.recv, recv_end}}) {
      if (end == 0) {
        ref->buffer = nullptr;
        continue;
      }
      const BufferObj* b = buffer_obj(ref->buffer);
      if (!b) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}].{} is not a live dshal buffer", op, r, name));
      if (b->device != s->device)
        return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}].{} lives on {}, not on {}", op, r, name, b->device->id, s->device->id));
      DSHAL_RETURN_IF_ERROR(check_range(op, name, b, ref->offset, end));
      ref->buffer = b->handle;
    }
    if (k.send.buffer && k.send.buffer == k.recv.buffer && k.send.offset < k.recv.offset + recv_end && k.recv.offset < k.send.offset + send_end)
      return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: ranks[{}] send and recv ranges overlap", op, r));
    k.stream = s->handle;
  }
  dshal_all_to_all_desc d = in;
  d.ranks = ranks.data();
  if (!c->table) return staged_all_to_all(*c, d);
  return adapter_status(c->table, c->table->all_to_all(c->handle, &d), op);
}

const char* op_name(dshal_op op) {
  static const char* names[] = {"grouped_gemm", "gemm_quant", "rms_norm", "rope", "softmax", "silu_mul",
                                "moe_route", "moe_permute", "moe_unpermute", "embedding", "elementwise",
                                "attention", "prepack_weight", "import_host_memory", "gemm"};
  static_assert(sizeof(names) / sizeof(names[0]) == DSHAL_OP_COUNT);
  return (op >= 0 && op < DSHAL_OP_COUNT) ? names[op] : "unknown";
}

}  // namespace dshal

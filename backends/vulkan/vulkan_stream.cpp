// vulkan streams and events. A stream records commands into one open command buffer (a batch) and
// submits it to the device's queue on synchronize, event_record, or once it holds kMaxCommands;
// each submission signals the stream's timeline semaphore at the next value. Events are (timeline,
// value) points; waits on them join the waiting stream's next submission.
#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

constexpr uint32_t kMaxCommands = 256;  // a long batch is submitted so the device can start on it

// Every prior command (any stream's: they share the queue) happens before the next one, and
// device writes are visible to the host once the submission's semaphore signals.
void full_barrier(VkCommandBuffer cmd, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  auto mb = make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
  mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
  mb.dstAccessMask = dst_access;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void free_batch(Stream* s, Batch* b) {
  Device* d = s->device;
  if (b->cmd) vkFreeCommandBuffers(d->dev, s->pool, 1, &b->cmd);
  for (VkDescriptorPool p : b->pools) vkDestroyDescriptorPool(d->dev, p, nullptr);
  for (VkBufferView v : b->views) vkDestroyBufferView(d->dev, v, nullptr);
  for (Allocation& a : b->staging) release(d, &a);
  *b = Batch{};
}

// With s->m held: records a failure of submitted work for the next synchronize.
dshal_status stream_failed(Stream* s, dshal_status st) {
  if (s->error == DSHAL_OK) {
    s->error = st;
    s->error_message = last_error();
  }
  return st;
}

}  // namespace

Timeline::~Timeline() {
  if (semaphore) vkDestroySemaphore(device->dev, semaphore, nullptr);
}

uint64_t Timeline::completed() const {
  uint64_t v = 0;
  if (vkGetSemaphoreCounterValue(device->dev, semaphore, &v) != VK_SUCCESS) return 0;
  return v;
}

dshal_status wait_value(const Timeline& t, uint64_t value) {
  auto wi = make<VkSemaphoreWaitInfo>(VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO);
  wi.semaphoreCount = 1;
  wi.pSemaphores = &t.semaphore;
  wi.pValues = &value;
  DSHAL_VK_RETURN_IF_ERROR(vkWaitSemaphores(t.device->dev, &wi, UINT64_MAX), "vkWaitSemaphores");
  return DSHAL_OK;
}

dshal_status record(Stream* s, VkCommandBuffer* out) {
  if (s->open.commands >= kMaxCommands)
    if (dshal_status st = flush(s); st != DSHAL_OK) return st;
  Batch& b = s->open;
  if (!b.cmd) {
    auto ai = make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
    ai.commandPool = s->pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    DSHAL_VK_RETURN_IF_ERROR(vkAllocateCommandBuffers(s->device->dev, &ai, &b.cmd), "vkAllocateCommandBuffers");
    auto bi = make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    DSHAL_VK_RETURN_IF_ERROR(vkBeginCommandBuffer(b.cmd, &bi), "vkBeginCommandBuffer");
  }
  full_barrier(b.cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
  ++b.commands;
  *out = b.cmd;
  return DSHAL_OK;
}

dshal_status flush(Stream* s) {
  Batch& b = s->open;
  if (!b.cmd && s->waits.empty()) return DSHAL_OK;  // nothing new: s->submitted already covers it all
  if (b.cmd) {
    full_barrier(b.cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    DSHAL_VK_RETURN_IF_ERROR(vkEndCommandBuffer(b.cmd), "vkEndCommandBuffer");
  }
  std::vector<VkSemaphore> wait_sems;
  std::vector<uint64_t> wait_values;
  std::vector<VkPipelineStageFlags> wait_stages;
  for (const auto& [t, v] : s->waits) {
    wait_sems.push_back(t->semaphore);
    wait_values.push_back(v);
    wait_stages.push_back(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
  }
  const uint64_t value = s->submitted + 1;
  auto ti = make<VkTimelineSemaphoreSubmitInfo>(VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO);
  ti.waitSemaphoreValueCount = uint32_t(wait_values.size());
  ti.pWaitSemaphoreValues = wait_values.data();
  ti.signalSemaphoreValueCount = 1;
  ti.pSignalSemaphoreValues = &value;
  auto si = make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO, &ti);
  si.waitSemaphoreCount = uint32_t(wait_sems.size());
  si.pWaitSemaphores = wait_sems.data();
  si.pWaitDstStageMask = wait_stages.data();
  si.commandBufferCount = b.cmd ? 1 : 0;
  si.pCommandBuffers = &b.cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &s->timeline->semaphore;
  VkResult r;
  {
    std::lock_guard lock(s->device->queue_mutex);
    r = vkQueueSubmit(s->device->queue, 1, &si, VK_NULL_HANDLE);
  }
  if (r != VK_SUCCESS) {
    free_batch(s, &b);
    s->waits.clear();
    return stream_failed(s, vk_fail(r, "vkQueueSubmit"));
  }
  for (auto& w : s->waits) b.waited.push_back(std::move(w.first));
  s->waits.clear();
  s->submitted = value;
  b.value = value;
  s->in_flight.push_back(std::move(b));
  b = Batch{};
  retire(s);  // frees what earlier submissions held, without waiting
  return DSHAL_OK;
}

void retire(Stream* s) {
  if (s->in_flight.empty()) return;
  const uint64_t done = s->timeline->completed();
  while (!s->in_flight.empty() && s->in_flight.front().value <= done) {
    Batch& b = s->in_flight.front();
    for (auto& step : b.host_steps) step();
    free_batch(s, &b);
    s->in_flight.pop_front();
  }
}

void retire_all(Device* d) {
  std::lock_guard lock(d->streams_mutex);
  for (Stream* s : d->streams) {
    std::lock_guard sl(s->m);
    retire(s);
  }
}

dshal_status descriptor_set(Stream* s, VkDescriptorSetLayout layout, VkDescriptorSet* out) {
  Batch& b = s->open;
  auto ai = make<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  if (!b.pools.empty()) {
    ai.descriptorPool = b.pools.back();
    if (vkAllocateDescriptorSets(s->device->dev, &ai, out) == VK_SUCCESS) return DSHAL_OK;
  }
  // A pool per batch (more when it fills up), destroyed when the batch retires.
  constexpr uint32_t kSets = 64;
  const VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSets * 8},  // up to 8 operands a set
                                       {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kSets * 8}};
  auto pi = make<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
  pi.maxSets = kSets;
  pi.poolSizeCount = 2;
  pi.pPoolSizes = sizes;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  DSHAL_VK_RETURN_IF_ERROR(vkCreateDescriptorPool(s->device->dev, &pi, nullptr, &pool), "vkCreateDescriptorPool");
  b.pools.push_back(pool);
  ai.descriptorPool = pool;
  DSHAL_VK_RETURN_IF_ERROR(vkAllocateDescriptorSets(s->device->dev, &ai, out), "vkAllocateDescriptorSets");
  return DSHAL_OK;
}

dshal_status stream_create(dshal_device device, dshal_stream* out) {
  *out = nullptr;
  return guarded([&] {
    Device* d = as_device(device);
    auto s = std::make_unique<Stream>();
    s->device = d;
    s->timeline = std::make_shared<Timeline>();
    s->timeline->device = d;
    auto ti = make<VkSemaphoreTypeCreateInfo>(VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO);
    ti.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    auto si = make<VkSemaphoreCreateInfo>(VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, &ti);
    DSHAL_VK_RETURN_IF_ERROR(vkCreateSemaphore(d->dev, &si, nullptr, &s->timeline->semaphore), "vkCreateSemaphore(timeline)");
    auto pi = make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
    pi.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pi.queueFamilyIndex = d->info->family;
    DSHAL_VK_RETURN_IF_ERROR(vkCreateCommandPool(d->dev, &pi, nullptr, &s->pool), "vkCreateCommandPool");
    if (dshal_status st = create_status(d, &s->status); st != DSHAL_OK) {
      vkDestroyCommandPool(d->dev, s->pool, nullptr);
      return st;
    }
    {
      std::lock_guard lock(d->streams_mutex);
      d->streams.insert(s.get());
    }
    *out = reinterpret_cast<dshal_stream>(s.release());
    return DSHAL_OK;
  });
}

dshal_status stream_synchronize(dshal_stream stream) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    uint64_t value = 0;
    {
      std::lock_guard lock(s->m);
      flush(s);  // a failure is kept in s->error
      value = s->submitted;
    }
    // Waits without the lock so other threads may keep enqueueing; their work is not covered.
    const dshal_status waited = wait_value(*s->timeline, value);
    if (waited != DSHAL_OK) {
      std::lock_guard lock(s->m);
      stream_failed(s, waited);
    }
    retire_all(s->device);  // this stream's d2h copies, and any other stream's it waited for
    {
      std::lock_guard lock(s->m);
      if (s->error != DSHAL_OK) {
        const dshal_status st = s->error;
        s->error = DSHAL_OK;
        return fail(st, std::move(s->error_message));
      }
      if (dshal_status st = report_status(&s->status, true); st != DSHAL_OK) return st;
    }
    return take_validation_error();
  });
}

dshal_status stream_destroy(dshal_stream stream) {
  const dshal_status st = stream_synchronize(stream);
  const std::string message = last_error();
  Stream* s = as_stream(stream);
  Device* d = s->device;
  {
    std::lock_guard lock(d->streams_mutex);
    d->streams.erase(s);
  }
  if (st != DSHAL_OK) vkQueueWaitIdle(d->queue);  // the wait failed: make sure nothing still runs
  free_batch(s, &s->open);
  while (!s->in_flight.empty()) {
    free_batch(s, &s->in_flight.front());
    s->in_flight.pop_front();
  }
  vkDestroyCommandPool(d->dev, s->pool, nullptr);
  release(d, &s->status.alloc);
  delete s;
  return st == DSHAL_OK ? st : fail(st, message);
}

dshal_status event_create(dshal_device, dshal_event* out) {
  *out = nullptr;
  return guarded([&] {
    *out = reinterpret_cast<dshal_event>(new Event);
    return DSHAL_OK;
  });
}

dshal_status event_destroy(dshal_event event) {
  delete as_event(event);
  return DSHAL_OK;
}

dshal_status event_record(dshal_event event, dshal_stream stream) {
  return guarded([&] {
    Event* e = as_event(event);
    Stream* s = as_stream(stream);
    std::lock_guard lock(s->m);
    std::lock_guard el(e->m);
    if (dshal_status st = snapshot_status(s, e); st != DSHAL_OK) return st;
    if (dshal_status st = flush(s); st != DSHAL_OK) return st;
    e->timeline = s->timeline;
    e->value = s->submitted;
    return DSHAL_OK;
  });
}

dshal_status stream_wait_event(dshal_stream stream, dshal_event event) {
  return guarded([&] {
    Event* e = as_event(event);
    Stream* s = as_stream(stream);
    std::shared_ptr<Timeline> t;
    uint64_t value = 0;
    {
      std::lock_guard el(e->m);
      t = e->timeline;
      value = e->value;
    }
    if (!t || value == 0) return DSHAL_OK;
    if (t->device->dev == s->device->dev) {
      std::lock_guard lock(s->m);
      s->waits.emplace_back(std::move(t), value);
      return DSHAL_OK;
    }
    // Semaphores do not cross VkDevices: wait on the host (correct, but blocks the caller).
    if (dshal_status st = wait_value(*t, value); st != DSHAL_OK) return st;
    retire_all(t->device);
    return DSHAL_OK;
  });
}

namespace {

dshal_status event_status(Event* e, bool wait) {
  std::shared_ptr<Timeline> t;
  std::shared_ptr<Buffer> snapshot;
  uint64_t value = 0;
  {
    std::lock_guard el(e->m);
    t = e->timeline;
    value = e->value;
    snapshot = e->snapshot;
  }
  if (!t || value == 0) return take_validation_error();
  if (wait) {
    if (dshal_status st = wait_value(*t, value); st != DSHAL_OK) return st;
  } else if (t->completed() < value) {
    return DSHAL_ERROR_NOT_READY;
  }
  retire_all(t->device);  // the d2h copies the event covers land in host memory now
  if (dshal_status st = report_status(snapshot.get(), false); st != DSHAL_OK) return st;
  return take_validation_error();
}

}  // namespace

dshal_status event_query(dshal_event e) {
  return guarded([&] { return event_status(as_event(e), false); });
}

dshal_status event_synchronize(dshal_event e) {
  return guarded([&] { return event_status(as_event(e), true); });
}

}  // namespace dshal::vulkan

// Opens a Hugging Face DeepSeek checkpoint folder and hands out its tensors by name, checked.
#include "checkpoint.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace dshal::model {
namespace {

using json = nlohmann::json;

Status invalid(const std::string& file, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, file + ": " + what);
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string dtype_list(uint32_t mask) {
  std::vector<std::string> names;
  for (int t = 1; t < 32; ++t)
    if (mask & DSHAL_DTYPE_BIT(t)) {
      const char* n = safetensors_dtype_name(dshal_dtype(t));
      if (*n) names.push_back(n);
    }
  return fmt::format("{}", fmt::join(names, ", "));
}

// model.safetensors.index.json: {"weight_map": {"tensor": "file.safetensors", ...}}.
Status read_index(const std::filesystem::path& index, std::map<std::string, std::string>* weight_map) {
  std::ifstream in(index, std::ios::binary);
  if (!in) return invalid(index.string(), "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    return invalid(index.string(), fmt::format("not valid JSON: {}", e.what()));
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    return invalid(index.string(), "has no 'weight_map' object");
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) return invalid(index.string(), fmt::format("weight_map['{}'] is not a file name", name));
    const std::filesystem::path p = file.get<std::string>();
    if (p.empty() || p.is_absolute() || p.has_parent_path())
      return invalid(index.string(), fmt::format("weight_map['{}'] = \"{}\" is not a file name in the folder", name, p.string()));
    (*weight_map)[name] = p.string();
  }
  return Status();
}

}  // namespace

Status Checkpoint::open(const std::filesystem::path& dir, std::unique_ptr<Checkpoint>* out) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status(DSHAL_ERROR_NOT_FOUND, dir.string() + ": not a directory (a checkpoint is a folder with config.json)");
  std::unique_ptr<Checkpoint> c(new Checkpoint());
  c->dir_ = dir;
  DSHAL_RETURN_IF_ERROR(load_config(dir / "config.json", &c->config_));

  const std::filesystem::path index = dir / "model.safetensors.index.json", single = dir / "model.safetensors";
  if (std::filesystem::exists(index, ec)) {
    std::map<std::string, std::string> weight_map;
    DSHAL_RETURN_IF_ERROR(read_index(index, &weight_map));
    std::map<std::string, const SafetensorsFile*> opened;
    for (const auto& [name, file] : weight_map) {
      auto it = opened.find(file);
      if (it == opened.end()) {
        std::unique_ptr<SafetensorsFile> f;
        const Status s = SafetensorsFile::open(dir / file, &f);
        if (s.code() == DSHAL_ERROR_NOT_FOUND)
          return Status(DSHAL_ERROR_NOT_FOUND, fmt::format("{}: names {} (for tensor '{}'), which does not exist", index.string(),
                                                           (dir / file).string(), name));
        DSHAL_RETURN_IF_ERROR(s);
        it = opened.emplace(file, f.get()).first;
        c->files_.push_back(std::move(f));
      }
      const auto& tensors = it->second->tensors();
      const auto t = tensors.find(name);
      if (t == tensors.end())
        return invalid(index.string(),
                       fmt::format("tensor '{}' is listed in {} but not found there", name, it->second->path().string()));
      c->by_name_[name] = &t->second;
    }
  } else if (std::filesystem::exists(single, ec)) {
    std::unique_ptr<SafetensorsFile> f;
    DSHAL_RETURN_IF_ERROR(SafetensorsFile::open(single, &f));
    for (const auto& [name, t] : f->tensors()) c->by_name_[name] = &t;
    c->files_.push_back(std::move(f));
  } else {
    return Status(DSHAL_ERROR_NOT_FOUND,
                  dir.string() + ": has neither model.safetensors nor model.safetensors.index.json");
  }
  *out = std::move(c);
  return Status();
}

const TensorView* Checkpoint::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Status Checkpoint::require(const std::string& name, const std::vector<int64_t>& shape, uint32_t allowed_dtypes,
                           const std::string& why, const TensorView** out) const {
  const TensorView* t = find(name);
  if (!t) return invalid(dir_.string(), fmt::format("tensor '{}' is missing ({})", name, why));
  if (t->shape != shape)
    return invalid(t->file, fmt::format("tensor '{}' has shape {}; {} implies {}", name, shape_text(t->shape), why, shape_text(shape)));
  if (!(allowed_dtypes & DSHAL_DTYPE_BIT(t->dtype)))
    return invalid(t->file, fmt::format("tensor '{}' has dtype {}; expected {} ({})", name, t->dtype_name, dtype_list(allowed_dtypes), why));
  if (out) *out = t;
  return Status();
}

bool uniform_stride(const std::vector<const TensorView*>& views, uint64_t* stride) {
  if (views.empty() || !views[0]) return false;
  const TensorView& a = *views[0];
  if (views.size() > 1 && (!views[1] || views[1]->file_offset < a.file_offset + a.bytes)) return false;
  const uint64_t step = views.size() > 1 && views[1] ? views[1]->file_offset - a.file_offset : a.bytes;
  for (size_t i = 0; i < views.size(); ++i) {
    const TensorView* v = views[i];
    if (!v || v->owner != a.owner || v->shape != a.shape || v->dtype != a.dtype || v->file_offset != a.file_offset + i * step)
      return false;
  }
  if (stride) *stride = step;
  return true;
}

}  // namespace dshal::model

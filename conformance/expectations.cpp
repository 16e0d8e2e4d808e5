// Reads a vendor expectations file (expectations.hpp) strictly: every problem names the file, the
// list, the entry's index and the field, so a vendor's typo never silently un-lists a case.
#include "expectations.hpp"

#include <fnmatch.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace dshal::conformance {
namespace {

Status bad(const std::string& file, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("expectations file '{}': {}", file, what));
}

// One list ("unsupported" or "xfail") of entries {case, reason}.
Status read_list(const std::string& file, const std::string& kind, const YAML::Node& list, Expectations* out) {
  if (list.IsNull()) return {};  // "xfail:" with nothing under it
  if (!list.IsSequence()) return bad(file, fmt::format("'{}' must be a list of {{case, reason}} entries", kind));
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node e = list[i];
    const std::string where = fmt::format("{}[{}]", kind, i);
    if (!e.IsMap()) return bad(file, fmt::format("{}: expected a map with 'case' and 'reason'", where));
    for (const auto& kv : e) {
      const std::string key = kv.first.as<std::string>();
      if (key != "case" && key != "reason")
        return bad(file, fmt::format("{}: unknown field '{}' (expected 'case' and 'reason')", where, key));
    }
    Expectation x;
    x.kind = kind;
    for (const char* field : {"case", "reason"}) {
      const YAML::Node v = e[field];
      if (!v || !v.IsScalar() || v.Scalar().empty())
        return bad(file, fmt::format("{}: field '{}' is missing or empty", where, field));
      (std::string(field) == "case" ? x.pattern : x.reason) = v.Scalar();
    }
    out->entries.push_back(std::move(x));
  }
  return {};
}

}  // namespace

std::optional<Expectation> Expectations::match(const std::string& case_id) const {
  for (const char* kind : {"unsupported", "xfail"})
    for (const Expectation& e : entries)
      if (e.kind == kind && fnmatch(e.pattern.c_str(), case_id.c_str(), 0) == 0) return e;
  return std::nullopt;
}

Status load_expectations(const std::string& file, Expectations* out) {
  *out = Expectations{};
  out->file = file;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return bad(file, "cannot be read");
  } catch (const YAML::Exception& e) {
    return bad(file, fmt::format("not valid YAML: {}", e.what()));
  }
  if (root.IsNull()) return {};  // an empty file expects nothing
  if (!root.IsMap()) return bad(file, "expected a map with the lists 'unsupported' and 'xfail'");
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key != "unsupported" && key != "xfail")
        return bad(file, fmt::format("unknown key '{}' (expected 'unsupported' and 'xfail')", key));
    }
    for (const char* kind : {"unsupported", "xfail"})
      if (root[kind]) DSHAL_RETURN_IF_ERROR(read_list(file, kind, root[kind], out));
  } catch (const YAML::Exception& e) {
    return bad(file, fmt::format("unreadable entry: {}", e.what()));
  }
  return {};
}

}  // namespace dshal::conformance

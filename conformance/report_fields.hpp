// Reading a report.json document (schema v1 or v2) without trusting it: every accessor tolerates a
// missing field or a field of the wrong type, so the HTML page and `dshal report diff` work on old
// reports and on reports written by a different version of the runner.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dshal::conformance::fields {

using nlohmann::json;

// The member `key` of `j`, or null when j is not an object or lacks it.
const json& member(const json& j, const std::string& key);
// A string member, or `fallback` when absent or not a string.
std::string str(const json& j, const std::string& key, const std::string& fallback = "");
// A numeric member (NaN and infinities are kept), or nullopt when absent, null or not a number.
std::optional<double> num(const json& j, const std::string& key);
// A member of any scalar type as display text: strings as is, numbers and booleans printed,
// anything else (absent, null, object, array) as `fallback`.
std::string text(const json& j, const std::string& key, const std::string& fallback = "");
// The elements of an array member (empty when absent or not an array).
const std::vector<json>& array(const json& j, const std::string& key);
// The {name: count} entries of an object member whose values are numbers; others are skipped.
std::map<std::string, double> counts(const json& j, const std::string& key);

// Case statuses, in the order the report shows them.
const std::vector<std::string>& all_statuses();

// The tiers in their order; tier_reached is the highest one that ran with no failing case, every
// lower one having run and passed too.
const std::vector<std::string>& tier_order();
// report.tier_reached when present (v2), otherwise computed from the cases by the same rule, with
// *computed (when given) set to true.
std::string tier_reached(const json& report, bool* computed = nullptr);

// Element types named in a case id. The id is split into tokens at every character that is not a
// letter or digit and where a lower-case letter or digit is followed by an upper-case letter
// ("Prepack.GemmQuantFp8/int4_g32" -> prepack gemm quant fp8 int4 g32); a token equal, ignoring
// case, to f32, f16, bf16, fp8 or int4 names that type. Order of `matrix_dtypes()`, no repeats.
std::vector<std::string> dtypes_in_id(const std::string& id);
const std::vector<std::string>& matrix_dtypes();  // f32 f16 bf16 fp8 int4

// How an op ran, from native and fallback call counts.
enum class OpMode { kNotRun, kNative, kFallback, kMixed };
OpMode op_mode(double native_calls, double fallback_calls);
const char* op_mode_name(OpMode m);  // "not run", "native", "fallback", "native + fallback"

}  // namespace dshal::conformance::fields

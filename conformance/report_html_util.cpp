// Escaping, number formatting and colours for report.html.
#include "report_html_util.hpp"

#include <cmath>

#include <fmt/format.h>

namespace dshal::conformance::html {

std::string esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') o += ' ';
        else o += c;
    }
  }
  return o;
}

std::string num_text(const std::optional<double>& v, int significant) {
  if (!v) return "—";
  if (std::isnan(*v)) return "NaN";
  if (std::isinf(*v)) return *v > 0 ? "∞" : "−∞";
  return fmt::format("{:.{}g}", *v, significant);
}

std::string bytes(const std::optional<double>& v) {
  if (!v) return "—";
  const double gib = *v / double(1ull << 30), mib = *v / double(1ull << 20);
  if (gib >= 1) return fmt::format("{:.1f} GiB ({:.0f} B)", gib, *v);
  if (mib >= 1) return fmt::format("{:.1f} MiB ({:.0f} B)", mib, *v);
  return fmt::format("{:.0f} B", *v);
}

std::string seconds(const std::optional<double>& v) {
  if (!v) return "—";
  if (*v >= 120) return fmt::format("{:.0f} min {:.0f} s", std::floor(*v / 60), std::fmod(*v, 60));
  return fmt::format("{:.3f} s", *v);
}

const char* status_color(const std::string& status) {
  if (status == "passed") return "#2e7d32";
  if (status == "failed") return "#c62828";
  if (status == "claims-support-but-fails") return "#ad1457";
  if (status == "xpass") return "#e65100";
  if (status == "crashed") return "#6a1b9a";
  if (status == "timeout") return "#4e342e";
  if (status == "xfail") return "#9e7c00";
  if (status == "unsupported") return "#546e7a";
  if (status == "skipped") return "#8d8d8d";
  return "#757575";
}

const char* mode_color(fields::OpMode m) {
  switch (m) {
    case fields::OpMode::kNative: return "#1b7f3b";
    case fields::OpMode::kFallback: return "#d66a00";
    case fields::OpMode::kMixed: return "#8a6d00";
    case fields::OpMode::kNotRun: break;
  }
  return "#9e9e9e";
}

const char* mode_tint(fields::OpMode m) {
  switch (m) {
    case fields::OpMode::kNative: return "#d7f0dd";
    case fields::OpMode::kFallback: return "#ffe3c4";
    case fields::OpMode::kMixed: return "#f4ecc0";
    case fields::OpMode::kNotRun: break;
  }
  return "#eeeeee";
}

std::string status_badge(const std::string& status) {
  return fmt::format("<span class=\"badge\" style=\"background:{}\">{}</span>", status_color(status),
                     esc(status.empty() ? "unknown" : status));
}

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n", esc(id), esc(title), body);
}

}  // namespace dshal::conformance::html

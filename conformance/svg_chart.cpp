// Inline SVG horizontal bar charts for report.html.
#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report_html_util.hpp"

namespace dshal::conformance::html {
namespace {

constexpr double kWidth = 1060, kLabelWidth = 380, kValueWidth = 130;
constexpr double kPlotX = kLabelWidth + 12, kPlotWidth = kWidth - kPlotX - kValueWidth;
constexpr double kBarHeight = 12, kBarGap = 2, kRowPad = 7, kAxisHeight = 40;
constexpr size_t kMaxLabel = 60;

// Long case ids keep their end, the part that tells cases apart.
std::string shorten(const std::string& label) {
  if (label.size() <= kMaxLabel) return label;
  return "…" + label.substr(label.size() - (kMaxLabel - 1));
}

// 1, 2 or 5 times a power of ten, at least x.
double nice_step(double x) {
  const double p = std::pow(10.0, std::floor(std::log10(x)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= x) return m * p;
  return 10 * p;
}

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;

  double t(double v) const { return log ? std::log10(v) : v; }
  double x(double v) const {
    if (std::isnan(v)) return kPlotX + kPlotWidth;  // a NaN error or time: drawn as the worst, full width
    if (log && v <= 0) v = lo;
    const double f = (t(std::clamp(v, lo, hi)) - t(lo)) / (t(hi) - t(lo));
    return kPlotX + kPlotWidth * f;
  }
};

Axis make_axis(const BarChart& c) {
  Axis a;
  a.log = c.log_scale;
  std::vector<double> vs;
  for (const BarRow& r : c.rows)
    for (const auto& v : r.values)
      if (v && std::isfinite(*v) && (!a.log || *v > 0)) vs.push_back(*v);
  if (c.reference) vs.push_back(*c.reference);
  if (a.log) {
    double mn = vs.empty() ? 0.1 : *std::min_element(vs.begin(), vs.end());
    double mx = vs.empty() ? 10 : *std::max_element(vs.begin(), vs.end());
    a.lo = std::pow(10.0, std::floor(std::log10(mn)));
    a.hi = std::pow(10.0, std::ceil(std::log10(mx)));
    if (a.hi <= a.lo) a.hi = a.lo * 10;
    const int decades = int(std::lround(std::log10(a.hi / a.lo)));
    const int every = decades > 12 ? 3 : decades > 7 ? 2 : 1;
    for (int d = 0; d <= decades; d += every) a.ticks.push_back(a.lo * std::pow(10.0, d));
  } else {
    double mx = vs.empty() ? 1 : std::max(*std::max_element(vs.begin(), vs.end()), 0.0);
    if (mx <= 0) mx = 1;
    const double step = nice_step(mx / 5);
    a.lo = 0;
    a.hi = std::ceil(mx / step) * step;
    for (double v = 0; v <= a.hi + step / 2; v += step) a.ticks.push_back(v);
  }
  return a;
}

std::string tick_text(double v) { return fmt::format("{:g}", v); }

}  // namespace

std::string render_bar_chart(const BarChart& c) {
  if (c.rows.empty()) return "<p class=\"note\">Nothing to chart.</p>\n";
  const Axis axis = make_axis(c);
  const size_t n_series = std::max<size_t>(c.series.size(), 1);
  const double row_h = n_series * (kBarHeight + kBarGap) - kBarGap + kRowPad;
  const double top = (c.series.size() > 1 ? 26 : 8) + (c.reference ? 14 : 0);
  const double plot_h = c.rows.size() * row_h;
  const double height = top + plot_h + kAxisHeight;
  std::string s = fmt::format(
      "<svg class=\"chart\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" font-size=\"11\">\n",
      kWidth, height);

  // Legend.
  if (c.series.size() > 1) {
    double lx = kPlotX;
    for (const BarSeries& se : c.series) {
      s += fmt::format("<rect x=\"{}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{}\"/>", lx, esc(se.color));
      s += fmt::format("<text x=\"{}\" y=\"16\">{}</text>\n", lx + 16, esc(se.name));
      lx += 24 + 7.0 * se.name.size();
    }
  }
  // Grid and axis.
  for (double tv : axis.ticks) {
    const double x = axis.x(tv);
    s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>", x, top,
                     top + plot_h);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n", x,
                     top + plot_h + 14, esc(tick_text(tv)));
  }
  s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#888\"/>\n", kPlotX, kPlotX + kPlotWidth,
                   top + plot_h);
  if (!c.axis_label.empty())
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\n",
                     kPlotX + kPlotWidth / 2, top + plot_h + 32, esc(c.axis_label));

  // Rows.
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const BarRow& r = c.rows[i];
    const double y0 = top + i * row_h + kRowPad / 2;
    s += fmt::format("<g><title>{}</title>", esc(r.tooltip.empty() ? r.label : r.tooltip));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", kLabelWidth,
                     y0 + (row_h - kRowPad) / 2 + 4, esc(shorten(r.label)));
    for (size_t k = 0; k < r.values.size(); ++k) {
      const double y = y0 + k * (kBarHeight + kBarGap);
      const auto& v = r.values[k];
      if (!v) continue;
      std::string color = k < c.series.size() ? c.series[k].color : "#607d8b";
      if (k < r.colors.size() && !r.colors[k].empty()) color = r.colors[k];
      const double w = std::max(axis.x(*v) - kPlotX, 2.0);
      s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>", kPlotX, y, w,
                       kBarHeight, esc(color));
      s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#333\">{}{}</text>", kPlotX + kPlotWidth + 6, y + 10,
                       esc(num_text(v)), esc(c.value_suffix));
    }
    s += "</g>\n";
  }
  // Reference line over the bars.
  if (c.reference) {
    const double x = axis.x(*c.reference);
    s += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#c62828\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"5,3\"/>",
        x, top - 4, top + plot_h);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#c62828\">{}</text>\n", x, top - 7,
                     esc(c.reference_label));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace dshal::conformance::html

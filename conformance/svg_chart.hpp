// Horizontal bar charts as inline SVG text (no script, no external resource): one row per item,
// one bar per series in a row, on a linear or a log10 axis, with an optional reference line.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dshal::conformance::html {

struct BarSeries {
  std::string name;   // shown in the legend when there is more than one series
  std::string color;  // CSS colour; a row's bar may override it
};

struct BarRow {
  std::string label;                          // left of the bars; long labels are shortened
  std::vector<std::optional<double>> values;  // one per series; nullopt draws no bar
  std::vector<std::string> colors;            // optional per-bar colour overrides ("" keeps the series')
  std::string tooltip;                        // <title> of the row (defaults to the label)
};

struct BarChart {
  std::vector<BarSeries> series;
  std::vector<BarRow> rows;
  bool log_scale = false;
  std::optional<double> reference;  // a vertical line at this value (e.g. 1.0 = at tolerance)
  std::string reference_label;
  std::string axis_label;           // under the axis
  std::string value_suffix;         // appended to the value printed after each bar
};

// The chart as an <svg> element; rows with no positive value on a log axis get a bar at the axis
// start and their value printed; NaN and +infinity fill the plot's width. An empty chart gives a
// short note instead.
std::string render_bar_chart(const BarChart& chart);

}  // namespace dshal::conformance::html

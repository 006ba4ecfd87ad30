#include "trainer/report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "base/files.h"

namespace batchai::trainer {

namespace {

// A figure at the precision the file has always carried (printf's
// `format`), or null: JSON has no NaN or infinity, and Boost.JSON 1.81
// would write them as bare NaN and Infinity, which no JSON reader takes.
boost::json::value figure(double v, const char* format) {
  if (!std::isfinite(v)) return nullptr;
  char text[400];  // %.3f of the largest double
  std::snprintf(text, sizeof text, format, v);
  return std::strtod(text, nullptr);
}

}  // namespace

std::string metrics_jsonl(const std::vector<EpochMetrics>& epochs) {
  // Boost.JSON writes the shortest text that reads back as the same
  // double, in its own style (0.4172 as 4.172E-1): every JSON reader takes
  // it, and the rounding above keeps it as short as printf's was.
  std::string out;
  for (const auto& e : epochs) {
    const boost::json::object record{{"epoch", e.epoch},
                                     {"loss", figure(e.loss, "%.6g")},
                                     {"acc", figure(e.acc, "%.6g")},
                                     {"val_loss", figure(e.val_loss, "%.6g")},
                                     {"val_acc", figure(e.val_acc, "%.6g")},
                                     {"seconds", figure(e.seconds, "%.3f")},
                                     {"images_per_second", figure(e.images_per_second, "%.1f")}};
    out += boost::json::serialize(record);
    out += '\n';
  }
  return out;
}

Result<std::vector<EpochMetrics>> parse_metrics_jsonl(const std::string& text, const std::string& where) {
  std::vector<EpochMetrics> epochs;
  std::size_t line_number = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    if (line.empty()) continue;
    const std::string place = where + ":" + std::to_string(line_number);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    const boost::json::object* o = ec ? nullptr : v.if_object();
    if (!o) return Error{place + ": not a JSON object"};
    EpochMetrics e;
    try {
      e.epoch = o->at("epoch").to_number<int>();
      auto number = [&](const char* key) {
        const boost::json::value& f = o->at(key);
        return f.is_null() ? std::nan("") : f.to_number<double>();
      };
      e.loss = number("loss");
      e.acc = number("acc");
      e.val_loss = number("val_loss");
      e.val_acc = number("val_acc");
      e.seconds = number("seconds");
      e.images_per_second = number("images_per_second");
    } catch (const std::exception& x) {
      return Error{place + ": " + x.what()};
    }
    epochs.push_back(e);
  }
  return epochs;
}

Result<std::vector<EpochMetrics>> read_metrics_jsonl(const std::string& dir) {
  const std::string path = dir + "/metrics.jsonl";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<EpochMetrics>{};
  auto text = read_text_file(path, "metrics");
  if (!text) return text.error();
  return parse_metrics_jsonl(*text, path);
}

namespace {

// One panel: a series per line, x = epoch, y scaled to [0, top].
void panel(std::ostringstream& s, const std::vector<EpochMetrics>& epochs, int x0, const char* title,
           double EpochMetrics::*a, double EpochMetrics::*b, const char* a_name, const char* b_name) {
  constexpr int kW = 360, kH = 220, kPad = 40;
  double top = 1e-9;
  for (const auto& e : epochs) top = std::max({top, e.*a, e.*b});
  const std::size_t n = epochs.size();
  auto x = [&](std::size_t i) { return x0 + kPad + (n > 1 ? static_cast<double>(i) * (kW - 2 * kPad) / (n - 1) : 0.0); };
  auto y = [&](double v) { return kH - kPad + 10 - v / top * (kH - 2 * kPad); };
  s << "<text x=\"" << x0 + kW / 2 << "\" y=\"20\" text-anchor=\"middle\">" << title << "</text>\n";
  s << "<line x1=\"" << x0 + kPad << "\" y1=\"" << y(0) << "\" x2=\"" << x0 + kW - kPad << "\" y2=\"" << y(0)
    << "\" stroke=\"#888\"/>\n";
  char label[64];
  std::snprintf(label, sizeof label, "%.3g", top);
  s << "<text x=\"" << x0 + 4 << "\" y=\"" << y(top) + 4 << "\" font-size=\"10\">" << label << "</text>\n";
  s << "<text x=\"" << x0 + kW - kPad << "\" y=\"" << y(0) + 16 << "\" font-size=\"10\" text-anchor=\"end\">epoch "
    << (n ? epochs.back().epoch : 0) << "</text>\n";
  const std::pair<double EpochMetrics::*, const char*> series[] = {{a, "#1f77b4"}, {b, "#ff7f0e"}};
  for (const auto& [field, colour] : series) {
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < n; ++i) s << x(i) << "," << y(epochs[i].*field) << " ";
    s << "\"/>\n";
  }
  s << "<text x=\"" << x0 + kPad << "\" y=\"" << kH + 5 << "\" font-size=\"11\" fill=\"#1f77b4\">" << a_name
    << "</text><text x=\"" << x0 + kPad + 90 << "\" y=\"" << kH + 5 << "\" font-size=\"11\" fill=\"#ff7f0e\">"
    << b_name << "</text>\n";
}

}  // namespace

std::string training_svg(const std::vector<EpochMetrics>& epochs) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"240\" font-family=\"sans-serif\" "
       "font-size=\"13\">\n";
  panel(s, epochs, 0, "loss", &EpochMetrics::loss, &EpochMetrics::val_loss, "loss", "val_loss");
  panel(s, epochs, 360, "accuracy", &EpochMetrics::acc, &EpochMetrics::val_acc, "acc", "val_acc");
  s << "</svg>\n";
  return s.str();
}

Status write_report(const std::string& dir, const std::vector<EpochMetrics>& epochs) {
  if (auto ok = write_file_atomic(dir + "/metrics.jsonl", metrics_jsonl(epochs), 0644); !ok) return ok;
  return write_file_atomic(dir + "/training.svg", training_svg(epochs), 0644);
}

}  // namespace batchai::trainer

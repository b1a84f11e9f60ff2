// The comparison report: one HTML file with everything embedded, readable offline.
#include "report/report.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox::report {
namespace {

// Tableau 10: distinct, colour-blind friendly line colours.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string colour(size_t index) { return kPalette[index % std::size(kPalette)]; }

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::vector<unsigned char>& bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    const uint32_t chunk = (uint32_t{bytes[i]} << 16) | (n > 1 ? uint32_t{bytes[i + 1]} << 8 : 0) |
                           (n > 2 ? uint32_t{bytes[i + 2]} : 0);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? digits[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// A number for the page with `digits` decimals; undefined values show as a dash.
std::string shown(double value, int digits) {
  if (!std::isfinite(value)) return "&ndash;";
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  size_t count = 0;
  for (double v : values) {
    if (std::isfinite(v)) sum += v, ++count;
  }
  return count ? sum / count : std::nan("");
}

double deviation(const std::vector<double>& values) {
  const double m = mean(values);
  double sum = 0;
  size_t count = 0;
  for (double v : values) {
    if (std::isfinite(v)) sum += (v - m) * (v - m), ++count;
  }
  return count > 1 ? std::sqrt(sum / (count - 1)) : std::nan("");
}

constexpr const char* kStyle = R"CSS(
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --paper: #ffffff; --wash: #f5f7fa;
        --accent: #3e6fb0; --good: #e3f2e6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: var(--wash); }
header { background: #1f2933; color: #f5f7fa; padding: 28px 0 22px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
header p { margin: 0; color: #cbd2d9; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 14px; }
.chip { background: rgba(255,255,255,0.1); border-radius: 999px; padding: 2px 12px; font-size: 13px; }
.chip b { font-weight: 600; color: #fff; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; margin: 22px 0;
          padding: 20px 24px; box-shadow: 0 1px 2px rgba(31,41,51,0.04); }
h2 { margin: 0 0 4px; font-size: 19px; font-weight: 650; }
.lead { margin: 0 0 16px; color: var(--muted); font-size: 14px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
thead th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em;
           position: sticky; top: 0; background: var(--paper); }
table.sortable th[data-sort] { cursor: pointer; user-select: none; }
table.sortable th[data-sort]:hover { color: var(--accent); }
th .dir { font-size: 11px; color: #9aa5b1; text-transform: none; letter-spacing: 0; }
th[aria-sort="ascending"]::after { content: " \25B2"; color: var(--accent); }
th[aria-sort="descending"]::after { content: " \25BC"; color: var(--accent); }
tbody tr:hover { background: #f8fafc; }
td.best { background: var(--good); font-weight: 600; }
td .sd { color: var(--muted); font-size: 12px; }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 14px 0 0; font-size: 13px; }
dl.glossary dt { font-weight: 600; } dl.glossary dd { margin: 0; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; vertical-align: 0; }
.tag { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 999px;
       background: #e6eef8; color: #2d5a94; margin-left: 6px; vertical-align: 1px; }
.tag.gradient { background: #e6eef8; color: #2d5a94; } .tag.relevance { background: #fdf0e1; color: #a35a06; }
.tag.cam { background: #fbe7e8; color: #a3262c; } .tag.black-box { background: #ececf1; color: #484a5c; }
.maps { display: grid; gap: 10px; align-items: start; }
.maps .head { font-weight: 600; font-size: 13px; text-align: center; padding-bottom: 2px; }
.maps figure { margin: 0; }
.maps img { width: 100%; height: auto; display: block; border-radius: 6px; image-rendering: auto; background: #eee; }
.maps .references { display: flex; gap: 3px; margin-top: 3px; }
.maps .references img { width: 32%; border-radius: 3px; }
.maps figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; text-align: center; line-height: 1.35; }
.maps figcaption b { color: var(--ink); font-weight: 600; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 24px; }
.plot-box h3 { margin: 0 0 2px; font-size: 15px; }
.plot-box p { margin: 0 0 8px; font-size: 13px; color: var(--muted); }
svg.plot { width: 100%; height: auto; display: block; }
svg.plot .grid line { stroke: var(--line); }
svg.plot .axis text { fill: var(--muted); font-size: 11px; }
svg.plot .label { fill: var(--muted); font-size: 12px; }
svg.plot path.curve { fill: none; stroke-width: 2.2; stroke-linejoin: round; }
ul.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.card h3 { margin: 0 0 6px; font-size: 16px; }
.card p { margin: 0 0 10px; font-size: 14px; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 10px; font-size: 13px; }
.card dt { color: var(--muted); } .card dd { margin: 0; }
.card table { font-size: 12.5px; } .card th, .card td { padding: 4px 6px; white-space: normal; text-align: left; }
.card code { background: var(--wash); padding: 0 4px; border-radius: 4px; font-size: 12px; }
.cite { font-size: 12.5px; color: var(--muted); font-style: italic; margin: 0; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; padding: 8px 0 30px; }
)CSS";

// Sorting of the metrics table, and a self-check that tests (headless browsers) read back from
// <html data-check="ok|failed" data-problems="...">: failed loads, script errors, empty plots.
constexpr const char* kScript = R"JS(
(function () {
  'use strict';
  var problems = [];
  window.addEventListener('error', function (event) {
    var target = event.target;
    if (target && target !== window && target.tagName) {
      problems.push('failed to load a ' + target.tagName.toLowerCase());
    } else {
      problems.push('script error: ' + event.message);
    }
  }, true);

  function sortBy(table, header) {
    var column = Number(header.getAttribute('data-sort'));
    var current = header.getAttribute('aria-sort');
    var higherBetter = header.getAttribute('data-higher') === '1';
    var ascending = current ? current !== 'ascending' : !higherBetter;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute('data-value'), y = b.cells[column].getAttribute('data-value');
      var nx = parseFloat(x), ny = parseFloat(y), order;
      if (isNaN(nx) || isNaN(ny)) {
        order = isNaN(nx) - isNaN(ny) || String(x).localeCompare(String(y));
      } else {
        order = nx - ny;
      }
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'), function (th) {
      th.removeAttribute('aria-sort');
    });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
  }

  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'), function (header) {
      header.addEventListener('click', function () { sortBy(table, header); });
    });
  });

  window.addEventListener('load', function () {
    var images = document.images;
    for (var i = 0; i < images.length; ++i) {
      if (!images[i].complete || images[i].naturalWidth === 0) {
        problems.push('picture not rendered: ' + (images[i].alt || i));
      }
    }
    var plots = document.querySelectorAll('svg.plot');
    var curves = 0;
    Array.prototype.forEach.call(plots, function (plot) {
      var paths = plot.querySelectorAll('path.curve');
      if (paths.length === 0) problems.push('plot without curves: ' + plot.id);
      Array.prototype.forEach.call(paths, function (path) {
        var box = path.getBBox();
        if (!(path.getTotalLength() > 0) || !(box.width > 0)) problems.push('empty curve in ' + plot.id);
        ++curves;
      });
    });
    var root = document.documentElement;
    root.setAttribute('data-images', String(images.length));
    root.setAttribute('data-plots', String(plots.length));
    root.setAttribute('data-curves', String(curves));
    root.setAttribute('data-problems', problems.join('; '));
    root.setAttribute('data-check', problems.length ? 'failed' : 'ok');
  });
})();
)JS";

// A line plot of one curve per method over [0, 1].
std::string plot(const std::string& id, const std::string& x_label, const std::vector<ReportMethod>& methods,
                 const ReportCurve ReportMethod::*curve) {
  constexpr double width = 460, height = 290, left = 50, right = 14, top = 12, bottom = 44;
  double y_max = 1.0;
  for (const auto& m : methods) {
    for (double s : (m.*curve).score) {
      if (std::isfinite(s)) y_max = std::max(y_max, s);
    }
  }
  const auto px = [&](double x) { return left + x * (width - left - right); };
  const auto py = [&](double y) { return height - bottom - y / y_max * (height - top - bottom); };
  std::ostringstream svg;
  svg << std::fixed << std::setprecision(1);
  svg << "<svg class=\"plot\" id=\"" << id << "\" viewBox=\"0 0 " << width << " " << height
      << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"" << escape(x_label) << "\">";
  svg << "<g class=\"grid\">";
  for (int i = 0; i <= 4; ++i) {
    const double f = i / 4.0;
    svg << "<line x1=\"" << px(f) << "\" y1=\"" << py(0) << "\" x2=\"" << px(f) << "\" y2=\"" << py(y_max) << "\"/>";
    svg << "<line x1=\"" << px(0) << "\" y1=\"" << py(f * y_max) << "\" x2=\"" << px(1) << "\" y2=\""
        << py(f * y_max) << "\"/>";
  }
  svg << "</g><g class=\"axis\">";
  for (int i = 0; i <= 4; ++i) {
    const double f = i / 4.0;
    svg << "<text x=\"" << px(f) << "\" y=\"" << py(0) + 16 << "\" text-anchor=\"middle\">" << shown(f, 2)
        << "</text>";
    svg << "<text x=\"" << px(0) - 8 << "\" y=\"" << py(f * y_max) + 4 << "\" text-anchor=\"end\">"
        << shown(f * y_max, 2) << "</text>";
  }
  svg << "<line x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(1) << "\" y2=\"" << py(0)
      << "\" stroke=\"#9aa5b1\"/><line x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(0) << "\" y2=\""
      << py(y_max) << "\" stroke=\"#9aa5b1\"/></g>";
  svg << "<text class=\"label\" x=\"" << px(0.5) << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">"
      << escape(x_label) << "</text>";
  svg << "<text class=\"label\" transform=\"translate(13 " << py(y_max / 2) << ") rotate(-90)\" "
      << "text-anchor=\"middle\">class probability</text>";
  for (size_t i = 0; i < methods.size(); ++i) {
    const ReportCurve& c = methods[i].*curve;
    std::ostringstream d;
    d << std::fixed << std::setprecision(1);
    for (size_t k = 0; k < c.fraction.size() && k < c.score.size(); ++k) {
      if (!std::isfinite(c.score[k])) continue;
      d << (d.tellp() == 0 ? "M" : " L") << px(c.fraction[k]) << " " << py(c.score[k]);
    }
    svg << "<path class=\"curve\" stroke=\"" << colour(i) << "\" d=\"" << d.str() << "\"><title>"
        << escape(methods[i].info->name) << " (AUC " << shown(c.auc, 3) << ")</title></path>";
  }
  svg << "</svg>";
  return svg.str();
}

std::string legend(const std::vector<ReportMethod>& methods, const ReportCurve ReportMethod::*curve) {
  std::ostringstream html;
  html << "<ul class=\"legend\">";
  for (size_t i = 0; i < methods.size(); ++i) {
    html << "<li><span class=\"swatch\" style=\"background:" << colour(i) << "\"></span>"
         << escape(methods[i].info->name) << " <span class=\"sd\">AUC " << shown((methods[i].*curve).auc, 3)
         << "</span></li>";
  }
  html << "</ul>";
  return html.str();
}

std::string maps_section(const Report& report) {
  std::ostringstream html;
  const size_t columns = report.methods.size() + 1;
  html << "<section id=\"maps\"><h2>Explanations</h2><p class=\"lead\">Each row is one image with the "
          "class explained and its probability; each column one method, drawn over the network's input. "
          "Under each map: its deletion and insertion AUC on that image.</p><div class=\"scroll\">"
       << "<div class=\"maps\" style=\"grid-template-columns: repeat(" << columns
       << ", minmax(120px, 1fr)); min-width:" << columns * 130 << "px\">";
  html << "<div class=\"head\">image</div>";
  for (const auto& m : report.methods) html << "<div class=\"head\">" << escape(m.info->name) << "</div>";
  const auto value = [](const ReportMethod& m, const std::string& key, size_t image) {
    const auto found = m.values.find(key);
    return found != m.values.end() && image < found->second.size() ? found->second[image] : std::nan("");
  };
  for (size_t i = 0; i < report.images.size(); ++i) {
    const ReportImage& image = report.images[i];
    html << "<figure><img src=\"" << image.photo << "\" alt=\"" << escape(image.name) << "\"><figcaption><b>"
         << escape(image.label) << "</b> " << shown(image.score, 3) << "<br>" << escape(image.name)
         << "</figcaption></figure>";
    for (size_t k = 0; k < report.methods.size(); ++k) {
      const ReportMethod& m = report.methods[k];
      html << "<figure><img src=\"" << (k < image.overlays.size() ? image.overlays[k] : "") << "\" alt=\""
           << escape(image.name + " " + m.info->name) << "\"><figcaption>del "
           << shown(value(m, "deletion_auc", i), 3) << " &middot; ins " << shown(value(m, "insertion_auc", i), 3)
           << "</figcaption></figure>";
    }
  }
  html << "</div></div></section>";
  return html.str();
}

// For each image, its most relevant channels at the concept layer with their conditional maps.
std::string concepts_section(const Report& report) {
  if (report.concept_layer.empty()) return "";
  size_t columns = 1;
  for (const auto& image : report.images) columns = std::max(columns, image.concepts.size() + 1);
  std::ostringstream html;
  html << "<section id=\"concepts\"><h2>Concepts</h2><p class=\"lead\">What the model saw, in "
          "terms of its own channels (concept relevance propagation, "
       << escape(report.concept_method) << "): the most relevant channels of layer <code>"
       << escape(report.concept_layer)
       << "</code>, each with its share of the relevance that reaches the layer and the map of "
          "the relevance that flows through it alone.</p><div class=\"scroll\">"
       << "<div class=\"maps\" style=\"grid-template-columns: repeat(" << columns
       << ", minmax(120px, 1fr)); min-width:" << columns * 130 << "px\">";
  for (const ReportImage& image : report.images) {
    html << "<figure><img src=\"" << image.photo << "\" alt=\"" << escape(image.name)
         << "\"><figcaption><b>" << escape(image.label) << "</b><br>" << escape(image.name)
         << "</figcaption></figure>";
    for (size_t k = 0; k + 1 < columns; ++k) {
      if (k >= image.concepts.size()) {
        html << "<figure></figure>";
        continue;
      }
      const ReportConcept& c = image.concepts[k];
      html << "<figure><img src=\"" << c.overlay << "\" alt=\""
           << escape(image.name + " channel " + std::to_string(c.channel))
           << "\"><figcaption>channel " << c.channel << " &middot; " << shown(100 * c.share, 1)
           << "%</figcaption>";
      if (!c.references.empty()) {
        html << "<div class=\"references\">";
        for (const auto& patch : c.references) {
          html << "<img src=\"" << patch << "\" alt=\"reference example of channel "
               << c.channel << "\" title=\"a reference example of the channel\">";
        }
        html << "</div>";
      }
      html << "</figure>";
    }
  }
  html << "</div></div></section>";
  return html.str();
}

std::string metrics_section(const Report& report) {
  std::ostringstream html;
  html << "<section id=\"metrics\"><h2>Metrics</h2><p class=\"lead\">Mean over the images (standard deviation "
          "in grey). Click a column to sort; the best method of each column is shaded.</p>";
  html << "<div class=\"scroll\"><table class=\"sortable\" id=\"metrics-table\"><thead><tr>"
       << "<th data-sort=\"0\" class=\"text\">method</th><th data-sort=\"1\" class=\"text\">family</th>";
  for (size_t c = 0; c < report.metrics.size(); ++c) {
    const ReportMetric& metric = report.metrics[c];
    html << "<th data-sort=\"" << c + 2 << "\" data-higher=\"" << (metric.higher_is_better ? 1 : 0)
         << "\" title=\"" << escape(metric.help) << "\">" << escape(metric.title) << " <span class=\"dir\">"
         << (metric.higher_is_better ? "&uarr; better" : "&darr; better") << "</span></th>";
  }
  html << "</tr></thead><tbody>";
  // The best mean of each column.
  std::vector<double> best(report.metrics.size(), std::nan(""));
  for (size_t c = 0; c < report.metrics.size(); ++c) {
    for (const auto& m : report.methods) {
      const auto found = m.values.find(report.metrics[c].key);
      if (found == m.values.end()) continue;
      const double v = mean(found->second);
      if (!std::isfinite(v)) continue;
      if (!std::isfinite(best[c]) || (report.metrics[c].higher_is_better ? v > best[c] : v < best[c])) best[c] = v;
    }
  }
  for (size_t k = 0; k < report.methods.size(); ++k) {
    const ReportMethod& m = report.methods[k];
    const std::string family = to_string(m.info->family);
    html << "<tr><td data-value=\"" << escape(m.info->name) << "\"><span class=\"swatch\" style=\"background:"
         << colour(k) << "\"></span>" << escape(m.info->name) << "</td><td class=\"text\" data-value=\""
         << escape(family) << "\">" << escape(family) << "</td>";
    for (size_t c = 0; c < report.metrics.size(); ++c) {
      const auto found = m.values.find(report.metrics[c].key);
      const std::vector<double> none;
      const std::vector<double>& values = found != m.values.end() ? found->second : none;
      const double v = mean(values), sd = deviation(values);
      const bool is_best = std::isfinite(v) && v == best[c] && report.methods.size() > 1;
      html << "<td" << (is_best ? " class=\"best\"" : "") << " data-value=\""
           << (std::isfinite(v) ? shown(v, 12) : std::string("")) << "\">" << shown(v, report.metrics[c].digits);
      if (std::isfinite(sd)) html << " <span class=\"sd\">&plusmn;" << shown(sd, report.metrics[c].digits) << "</span>";
      html << "</td>";
    }
    html << "</tr>";
  }
  html << "</tbody></table></div><dl class=\"glossary\">";
  for (const auto& metric : report.metrics) {
    html << "<dt>" << escape(metric.title) << "</dt><dd>" << escape(metric.help) << "</dd>";
  }
  html << "</dl></section>";
  return html.str();
}

std::string curves_section(const Report& report) {
  std::ostringstream html;
  html << "<section id=\"curves\"><h2>Deletion and insertion curves</h2><p class=\"lead\">The class probability "
          "as the pixels are removed (deletion) or put back (insertion) in the order of each method's map, "
          "averaged over the images (Petsiuk et al. 2018). A faithful map makes deletion fall fast and "
          "insertion rise fast.</p><div class=\"plots\">";
  html << "<div class=\"plot-box\"><h3>Deletion</h3><p>lower area is better</p>"
       << plot("deletion-plot", "fraction of pixels removed", report.methods, &ReportMethod::deletion)
       << legend(report.methods, &ReportMethod::deletion) << "</div>";
  html << "<div class=\"plot-box\"><h3>Insertion</h3><p>higher area is better</p>"
       << plot("insertion-plot", "fraction of pixels inserted", report.methods, &ReportMethod::insertion)
       << legend(report.methods, &ReportMethod::insertion) << "</div>";
  html << "</div></section>";
  return html.str();
}

std::string methods_section(const Report& report) {
  std::ostringstream html;
  html << "<section id=\"methods\"><h2>The methods</h2><p class=\"lead\">Their place in the taxonomy of "
          "Ayyar, Benois-Pineau &amp; Zemmari (2021) and the hyper-parameters used.</p><div class=\"cards\">";
  for (const auto& m : report.methods) {
    const MethodInfo& info = *m.info;
    const std::string family = to_string(info.family);
    html << "<div class=\"card\"><h3>" << escape(info.name) << "<span class=\"tag "
         << escape(family) << "\">" << escape(family) << "</span></h3><p>" << escape(info.summary)
         << "</p><dl>"
         << "<dt>class-discriminative</dt><dd>" << (info.class_discriminative ? "yes" : "no")
         << "</dd>"
         << "<dt>resolution</dt><dd>" << escape(to_string(info.resolution)) << "</dd>"
         << "<dt>cost</dt><dd>" << escape(info.cost) << "</dd>"
         << "<dt>needs</dt><dd>" << (info.needs_gradient ? "gradients" : "forward passes only")
         << (info.needs_reference ? ", a reference input" : "") << "</dd></dl>";
    if (!m.hyperparameters.empty()) {
      html << "<table><thead><tr><th>parameter</th><th>value</th><th>meaning</th></tr></thead><tbody>";
      for (const auto& h : m.hyperparameters) {
        html << "<tr><td><code>" << escape(h.name) << "</code></td><td><code>" << escape(h.value) << "</code>"
             << (h.value != h.fallback ? " <span class=\"sd\">(default " + escape(h.fallback) + ")</span>" : "")
             << "</td><td>" << escape(h.meaning) << "</td></tr>";
      }
      html << "</tbody></table>";
    }
    html << "<p class=\"cite\">" << escape(info.citation) << "</p></div>";
  }
  html << "</div></section>";
  return html.str();
}

}  // namespace

std::string png_data_uri(const at::Tensor& rgb) {
  const std::string png = encode_image(rgb, ".png");
  return "data:image/png;base64," + base64({png.begin(), png.end()});
}

std::string render_report(const Report& report) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\" data-check=\"pending\"><head><meta charset=\"utf-8\">"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
       << "<title>" << escape(report.title) << "</title><style>" << kStyle << "</style></head><body>";
  html << "<header><div class=\"wrap\"><h1>" << escape(report.title) << "</h1><p>" << report.images.size()
       << (report.images.size() == 1 ? " image" : " images") << " &times; " << report.methods.size()
       << (report.methods.size() == 1 ? " method" : " methods") << " on <b>" << escape(report.model)
       << "</b></p><div class=\"chips\">";
  for (const auto& [key, value] : report.settings) {
    html << "<span class=\"chip\">" << escape(key) << ": <b>" << escape(value) << "</b></span>";
  }
  html << "</div></div></header><main class=\"wrap\">";
  html << maps_section(report) << concepts_section(report) << metrics_section(report)
       << curves_section(report) << methods_section(report);
  html << "</main><footer>Made by whitebox: every picture and plot is inside this file.</footer>"
       << "<script>" << kScript << "</script></body></html>\n";
  return html.str();
}

}  // namespace whitebox::report

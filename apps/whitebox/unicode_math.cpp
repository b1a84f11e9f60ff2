// LaTeX as Unicode text: a small recursive converter, enough for the notation of
// src/methods/mathematics.inc. A command it does not know is kept as its name, so it never fails.
#include "unicode_math.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace whitebox::cli {
namespace {

using Table = std::map<std::string_view, std::string_view>;

// The UTF-8 code points of text (a malformed byte is one point of its own length, not an error).
std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> points;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    points.push_back(text.substr(i, n));
    i += n;
  }
  return points;
}

// Columns a terminal gives text: combining marks (U+0300..U+036F) take none.
std::size_t width(std::string_view text) {
  std::size_t columns = 0;
  for (const auto point : code_points(text)) {
    const bool combining =
        point.size() == 2 &&
        (point[0] == '\xCC' || (point[0] == '\xCD' && static_cast<unsigned char>(point[1]) < 0xB0));
    columns += combining ? 0 : 1;
  }
  return columns;
}

// The i-th code point of `from` maps to the i-th of `to`.
Table zip(std::string_view from, std::string_view to) {
  Table table;
  const auto keys = code_points(from), values = code_points(to);
  for (std::size_t i = 0; i < keys.size() && i < values.size(); ++i)
    table.emplace(keys[i], values[i]);
  return table;
}

const Table& subscripts() {
  static const Table table =
      zip("0123456789+−=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ");
  return table;
}

const Table& superscripts() {
  // ᵀ (what \top becomes) is already raised.
  static const Table table =
      zip("0123456789+−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθφχιᵀ",
          "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᵠᵡᶥᵀ");
  return table;
}

const Table& double_struck() {
  static const Table table = zip("RNZQCEP1", "ℝℕℤℚℂ𝔼ℙ𝟙");
  return table;
}

const Table& symbols() {
  // clang-format off
  static const Table table = {
      {"alpha", "α"}, {"beta", "β"}, {"gamma", "γ"}, {"delta", "δ"}, {"epsilon", "ϵ"},
      {"varepsilon", "ε"}, {"zeta", "ζ"}, {"eta", "η"}, {"theta", "θ"}, {"vartheta", "ϑ"},
      {"iota", "ι"}, {"kappa", "κ"}, {"lambda", "λ"}, {"mu", "μ"}, {"nu", "ν"}, {"xi", "ξ"},
      {"pi", "π"}, {"rho", "ρ"}, {"varrho", "ϱ"}, {"sigma", "σ"}, {"tau", "τ"}, {"upsilon", "υ"},
      {"phi", "ϕ"}, {"varphi", "φ"}, {"chi", "χ"}, {"psi", "ψ"}, {"omega", "ω"}, {"Gamma", "Γ"},
      {"Delta", "Δ"}, {"Theta", "Θ"}, {"Lambda", "Λ"}, {"Xi", "Ξ"}, {"Pi", "Π"}, {"Sigma", "Σ"},
      {"Upsilon", "Υ"}, {"Phi", "Φ"}, {"Psi", "Ψ"}, {"Omega", "Ω"}, {"nabla", "∇"},
      {"partial", "∂"}, {"odot", "⊙"}, {"otimes", "⊗"}, {"oplus", "⊕"}, {"ominus", "⊖"},
      {"times", "×"}, {"cdot", "·"}, {"circ", "∘"}, {"ast", "∗"}, {"star", "⋆"}, {"pm", "±"},
      {"mp", "∓"}, {"div", "÷"}, {"le", "≤"}, {"leq", "≤"}, {"ge", "≥"}, {"geq", "≥"},
      {"ne", "≠"}, {"neq", "≠"}, {"approx", "≈"}, {"equiv", "≡"}, {"sim", "~"}, {"simeq", "≃"},
      {"propto", "∝"}, {"ll", "≪"}, {"gg", "≫"}, {"in", "∈"}, {"notin", "∉"}, {"subset", "⊂"},
      {"subseteq", "⊆"}, {"cup", "∪"}, {"cap", "∩"}, {"setminus", "∖"}, {"forall", "∀"},
      {"exists", "∃"}, {"infty", "∞"}, {"emptyset", "∅"}, {"sum", "Σ"}, {"prod", "Π"},
      {"int", "∫"}, {"to", "→"}, {"rightarrow", "→"}, {"leftarrow", "←"}, {"gets", "←"},
      {"Rightarrow", "⇒"}, {"Leftarrow", "⇐"}, {"Leftrightarrow", "⇔"}, {"implies", "⟹"},
      {"Longrightarrow", "⟹"}, {"iff", "⟺"}, {"mapsto", "↦"}, {"uparrow", "↑"},
      {"downarrow", "↓"}, {"top", "ᵀ"}, {"perp", "⊥"}, {"flat", "♭"}, {"sharp", "♯"},
      {"dots", "…"}, {"ldots", "…"}, {"cdots", "⋯"}, {"vdots", "⋮"}, {"ddots", "⋱"},
      {"lVert", "‖"}, {"rVert", "‖"}, {"Vert", "‖"}, {"|", "‖"}, {"lvert", "|"}, {"rvert", "|"},
      {"vert", "|"}, {"mid", "|"}, {"lceil", "⌈"}, {"rceil", "⌉"}, {"lfloor", "⌊"},
      {"rfloor", "⌋"}, {"langle", "⟨"}, {"rangle", "⟩"}, {"lbrace", "{"}, {"rbrace", "}"},
      {"ell", "ℓ"}, {"prime", "′"}, {"neg", "¬"}, {"land", "∧"}, {"wedge", "∧"}, {"lor", "∨"},
      {"vee", "∨"}};
  // clang-format on
  return table;
}

// Combining marks of the accents.
const Table& accents() {
  static const Table table = {
      {"bar", "\xCC\x84"},       {"overline", "\xCC\x84"}, {"tilde", "\xCC\x83"},
      {"widetilde", "\xCC\x83"}, {"hat", "\xCC\x82"},      {"widehat", "\xCC\x82"},
      {"dot", "\xCC\x87"},       {"ddot", "\xCC\x88"},     {"vec", "\xE2\x83\x97"}};
  return table;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The index of the ")" or "]" that closes the bracket at points[open], or points.size().
std::size_t closing(const std::vector<std::string_view>& points, std::size_t open) {
  const std::string_view close = points[open] == "[" ? "]" : ")";
  int depth = 0;
  for (std::size_t i = open; i < points.size(); ++i) {
    if (points[i] == points[open]) ++depth;
    if (points[i] == close && --depth == 0) return i;
  }
  return points.size();
}

// Whether text is one parenthesised whole, "(...)".
bool enclosed(std::string_view text) {
  const auto points = code_points(text);
  return !points.empty() && points[0] == "(" && closing(points, 0) + 1 == points.size();
}

// Whether point is a sub- or superscript character.
bool scripted(std::string_view point) {
  const auto in = [point](const Table& table) {
    return std::any_of(table.begin(), table.end(),
                       [point](const auto& entry) { return entry.second == point; });
  };
  return in(subscripts()) || in(superscripts());
}

bool digit(std::string_view point) { return std::isdigit(static_cast<unsigned char>(point[0])); }

// Whether text is one token, safe as a numerator or denominator without parentheses: a number,
// or one symbol (x, ∂x, x̄, (a + b)) with its sub- and superscripts.
bool one_token(std::string_view text) {
  const auto points = code_points(text);
  std::size_t i = 0;
  if (i < points.size() && one_of(points[i], {"∂", "Δ", "∇"})) ++i;  // ∂L/∂x stays readable
  if (i == points.size()) return i > 0;
  if (digit(points[i])) {
    while (i < points.size() && (digit(points[i]) || points[i] == ".")) ++i;
  } else if (points[i] == "(") {
    i = closing(points, i) + 1;
  } else if (std::isalpha(static_cast<unsigned char>(points[i][0]))) {
    // A letter, or a function of its argument: x, f(x), st(z), cov[x, y].
    const std::size_t start = i;
    while (i < points.size() && std::isalpha(static_cast<unsigned char>(points[i][0]))) ++i;
    if (i < points.size() && one_of(points[i], {"(", "["}))
      i = closing(points, i) + 1;
    else if (i - start > 1)
      return false;  // hw is h times w
  } else if (points[i].size() > 1) {
    ++i;  // a non-ASCII symbol: α, ∞
  } else {
    return false;
  }
  // Then only its scripts: raised or lowered characters, marks, primes, _c or ^(...).
  for (; i < points.size(); ++i) {
    if (width(points[i]) == 0 || points[i] == "'" || scripted(points[i])) continue;
    if ((points[i] != "_" && points[i] != "^") || ++i == points.size()) return false;
    if (points[i] == "(" && (i = closing(points, i)) == points.size()) return false;
  }
  return true;
}

std::string operand(const std::string& text) { return one_token(text) ? text : "(" + text + ")"; }

// Text in sub- or superscript characters, if every character has one (spaces are dropped).
std::optional<std::string> to_script(std::string_view text, const Table& table) {
  std::string scripted;
  for (const auto point : code_points(text)) {
    if (point == " ") continue;
    const auto it = table.find(point);
    if (it == table.end()) return std::nullopt;
    scripted += it->second;
  }
  return scripted;
}

// The rows (split at \\) and cells (split at &) of an environment's body, outside braces.
std::vector<std::vector<std::string_view>> split_rows(std::string_view body) {
  std::vector<std::vector<std::string_view>> rows(1);
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\' && depth == 0 && i + 1 < body.size() && body[i + 1] == '\\') {
      rows.back().push_back(body.substr(start, i - start));
      rows.emplace_back();
      start = ++i + 1;
    } else if (c == '\\') {
      ++i;  // an escaped character, \{ or \&, is no delimiter
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
    } else if (c == '&' && depth == 0) {
      rows.back().push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  rows.back().push_back(body.substr(std::min(start, body.size())));
  return rows;
}

std::string convert(std::string_view tex);

class Converter {
 public:
  explicit Converter(std::string_view tex) : tex_(tex) {}

  std::string run() {
    while (pos_ < tex_.size()) step();
    while (!out_.empty() && (out_.back() == ' ' || out_.back() == '\n')) out_.pop_back();
    return std::move(out_);
  }

 private:
  void step() {
    const char c = tex_[pos_++];
    switch (c) {
      case '\\': command(name()); break;
      case '{':
      case '}': break;  // grouping only
      case '^':
      case '_': script(c); break;
      case '\n': line_break(); break;
      case ' ':
      case '\t':
      case '\r':
      case '~': space(1); break;
      case '&': space(2); break;  // an alignment point outside an environment
      case '-': out_ += "−"; break;
      case ')':
      case ']': trim_spaces(), out_ += c; break;  // "f(a/b)", not "f(a/b )"
      default: out_ += c;
    }
  }

  // The name after a backslash: a run of letters or one other character (none at the end).
  std::string_view name() {
    const std::size_t start = pos_;
    while (pos_ < tex_.size() && std::isalpha(static_cast<unsigned char>(tex_[pos_]))) ++pos_;
    if (pos_ == start && pos_ < tex_.size()) ++pos_;
    return tex_.substr(start, pos_ - start);
  }

  void skip_spaces(bool newlines) {
    while (pos_ < tex_.size() &&
           (tex_[pos_] == ' ' || tex_[pos_] == '\t' || (newlines && tex_[pos_] == '\n')))
      ++pos_;
  }

  // The next argument, unconverted: a braced group's contents, a command or one character.
  std::string_view group() {
    skip_spaces(true);
    if (pos_ >= tex_.size()) return {};
    const std::size_t start = pos_;
    if (tex_[pos_] == '{') {
      for (int depth = 0; pos_ < tex_.size(); ++pos_) {
        if (tex_[pos_] == '\\')
          ++pos_;  // \{ and \} do not count
        else if (tex_[pos_] == '{')
          ++depth;
        else if (tex_[pos_] == '}' && --depth == 0)
          return tex_.substr(start + 1, pos_++ - start - 1);
      }
      pos_ = tex_.size();  // unbalanced: the rest is the group
      return tex_.substr(start + 1);
    }
    if (tex_[pos_] == '\\') {
      ++pos_;
      name();
    } else {
      pos_ += code_points(tex_.substr(pos_, 4)).front().size();
    }
    return tex_.substr(start, pos_ - start);
  }

  // At least n spaces before what comes next, except at the start of a line.
  void space(std::size_t n) {
    if (out_.empty() || out_.back() == '\n') return;
    std::size_t have = 0;
    while (have < out_.size() && out_[out_.size() - 1 - have] == ' ') ++have;
    if (have < n) out_.append(n - have, ' ');
  }

  void trim_spaces() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
  }

  // Display mathematics keeps its source's lines (and \\), without blank or indented ones.
  void line_break() {
    trim_spaces();
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    skip_spaces(false);
  }

  void command(std::string_view name) {
    if (name.empty() || name == "!") return;
    if (name == "\\") return line_break();
    if (one_of(name, {",", ";", ":", " ", ">"})) return space(1);
    if (name == "quad") return space(2);
    if (name == "qquad") return space(4);
    if (const auto it = symbols().find(name); it != symbols().end()) {
      // Delimiters and prefixes hug what they enclose or apply to: ‖v‖, ⌈H/s⌉, ∂L.
      if (one_of(name, {"rVert", "rvert", "rceil", "rfloor", "rangle"})) trim_spaces();
      out_ += it->second;
      if (one_of(name, {"lVert", "lvert", "lceil", "lfloor", "langle", "partial", "Delta"}))
        skip_spaces(false);
      return;
    }
    if (one_of(name,
               {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl",
                "Bigr", "biggl", "biggr", "textstyle", "displaystyle", "limits", "nolimits"})) {
      if (pos_ < tex_.size() && tex_[pos_] == '.') ++pos_;  // \left. is no delimiter
      return;
    }
    if (one_of(name, {"text", "textrm", "texttt", "textbf", "textit", "mbox"}))
      return text(group());
    if (one_of(name, {"mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathscr",
                      "mathfrak", "boldsymbol", "bm", "operatorname"})) {
      out_ += convert(group());
      return;
    }
    if (name == "mathbb") {
      const std::string letters = convert(group());  // outlives its code points
      for (const auto point : code_points(letters)) {
        const auto it = double_struck().find(point);
        out_ += it == double_struck().end() ? point : it->second;
      }
      return;
    }
    if (one_of(name, {"frac", "tfrac", "dfrac"})) {
      const std::string numerator = operand(convert(group()));
      out_ += numerator + "/" + operand(convert(group()));
      // "1/2 (a + b)", not "1/2(a + b)", which reads as a denominator.
      if (pos_ < tex_.size() &&
          std::string_view(",.;:^_").find(tex_[pos_]) == std::string_view::npos)
        space(1);
      return;
    }
    if (name == "sqrt") {
      out_ += "√" + operand(convert(group()));
      return;
    }
    if (const auto it = accents().find(name); it != accents().end()) {
      const std::string base = convert(group());
      out_ += (code_points(base).size() == 1 ? base : "(" + base + ")") + std::string(it->second);
      return;
    }
    if (name == "begin") return environment(group());
    if (name == "end") {
      group();  // an \end without its \begin
      return;
    }
    out_ += name;  // an operator name (\max, \log), an escaped character, or unknown
  }

  // Text mode: the characters themselves, spaces included.
  void text(std::string_view raw) {
    if (raw.find('\\') != std::string_view::npos) {
      out_ += convert(raw);
      return;
    }
    for (const char c : raw) {
      if (c == ' ' || c == '\n')
        space(1);
      else if (c != '{' && c != '}')
        out_ += c;
    }
  }

  void script(char mark) {
    const std::string content = convert(group());
    if (content.empty()) return;
    if (const auto scripted = to_script(content, mark == '^' ? superscripts() : subscripts()))
      out_ += *scripted;
    else if (code_points(content).size() == 1 || enclosed(content))
      out_ += mark + content;
    else
      out_ += mark + ("(" + content + ")");
  }

  // cases, aligned and the like: one line per row, the cells padded into columns.
  void environment(std::string_view env) {
    const std::string end = "\\end{" + std::string(env) + "}";
    const std::size_t stop = std::min(tex_.find(end, pos_), tex_.size());
    const auto rows = split_rows(tex_.substr(pos_, stop - pos_));
    pos_ = std::min(stop + end.size(), tex_.size());

    std::vector<std::vector<std::string>> table;
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
      std::vector<std::string> cells;
      for (const auto raw : row) {
        std::string cell(raw);
        std::replace(cell.begin(), cell.end(), '\n', ' ');  // a row is one line
        cells.push_back(convert(cell));
        if (widths.size() < cells.size()) widths.push_back(0);
        widths[cells.size() - 1] = std::max(widths[cells.size() - 1], width(cells.back()));
      }
      const bool blank = std::all_of(cells.begin(), cells.end(), [](auto& c) { return c.empty(); });
      if (!blank) table.push_back(std::move(cells));
    }

    const std::size_t line_start = out_.rfind('\n');
    const std::size_t column =
        width(out_.substr(line_start == std::string::npos ? 0 : line_start + 1));
    for (std::size_t r = 0; r < table.size(); ++r) {
      if (r > 0) {
        trim_spaces();
        out_ += '\n';
        out_.append(column, ' ');
      }
      if (env == "cases") out_ += "{ ";
      for (std::size_t c = 0; c < table[r].size(); ++c) {
        if (widths[c] == 0) continue;  // a column no row uses, as in &&
        out_ += table[r][c];
        out_.append(widths[c] - width(table[r][c]) + 2, ' ');
      }
      trim_spaces();
    }
  }

  std::string_view tex_;
  std::size_t pos_ = 0;
  std::string out_;
};

std::string convert(std::string_view tex) { return Converter(tex).run(); }

std::string indented(const std::string& text) {
  std::string out = "  ";
  for (const char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

}  // namespace

std::string unicode_math(std::string_view markdown) {
  std::string out;
  std::size_t i = 0;
  while (i < markdown.size()) {
    if ((i == 0 || markdown[i - 1] == '\n') && markdown.compare(i, 3, "```") == 0) {
      // A fenced block runs to the next line that starts with ```; only ```math is converted.
      const std::size_t header_end = std::min(markdown.find('\n', i), markdown.size());
      const std::size_t body = std::min(header_end + 1, markdown.size());
      const std::size_t close =
          std::max(std::min(markdown.find("\n```", header_end), markdown.size()), body);
      const std::size_t end = std::min(close + 4, markdown.size());
      if (markdown.substr(i + 3, header_end - i - 3) == "math")
        out += indented(convert(markdown.substr(body, close - body)));
      else
        out += markdown.substr(i, end - i);
      i = end;
    } else if (markdown[i] == '`') {  // a code span is verbatim
      const std::size_t end = std::min(markdown.find('`', i + 1), markdown.size() - 1) + 1;
      out += markdown.substr(i, end - i);
      i = end;
    } else if (markdown.compare(i, 2, "\\$") == 0) {
      out += '$';
      i += 2;
    } else if (markdown[i] == '$') {
      std::size_t end = i + 1;
      while (end < markdown.size() && markdown[end] != '$') end += markdown[end] == '\\' ? 2 : 1;
      end = std::min(end, markdown.size());
      out += convert(markdown.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      out += markdown[i++];
    }
  }
  return out;
}

}  // namespace whitebox::cli

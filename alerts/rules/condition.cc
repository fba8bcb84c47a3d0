// An alert rule's condition: the parser (recursive descent into a flat,
// typed node array), the three-valued evaluator on a window's report, and
// the range analysis that finds conditions that can never be true. Past
// 600 lines because the three walk the same node array and share its
// private layout; each is a section below.
#include "alerts/rules/condition.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "driftd/detectors/detector.h"

namespace driftd::alerts {

const char* to_string(Truth t) {
  switch (t) {
    case Truth::kFalse:
      return "false";
    case Truth::kTrue:
      return "true";
    case Truth::kUnknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

constexpr std::array<std::string_view, 10> kMetrics = {
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse", "r2", "rows"};

struct NamedField {
  std::string_view name;
  int field;  // Condition::Field, as an int (the enum is private)
  bool is_bool;
};

// Levenshtein distance, for "did you mean".
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view name, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 3;  // at most 2 edits away
  for (const auto& k : known) {
    const size_t d = distance(name, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean " + best + "?)";
}

enum class Tok : uint8_t { kEnd, kNumber, kName, kOp, kLParen, kRParen, kComma, kColon, kDot };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  size_t column = 0;  // 1-based
  double number = 0;
};

}  // namespace

struct Condition::Value {
  bool known = false;
  double number = 0;  // a bool is 0 or 1
};

class Condition::Parser {
 public:
  Parser(std::string_view text, Condition& out) : text_(text), out_(out) {}

  Status run() {
    DRIFTD_TRY(lex());
    auto root = parse_quantified();
    if (!root) return root.error();
    if (peek().kind != Tok::kEnd)
      return error(peek(), "unexpected '" + std::string(peek().text) + "'");
    // The tree's height, not the text's nesting, bounds evaluation's
    // recursion; and a chain of 2,000 subtractions, flat in the text, is a
    // tree that deep (its canonical form, parenthesized, nests as deep).
    if (node(*root).height > kMaxDepth) {
      return error_at(1, "nested too deep (more than " + std::to_string(kMaxDepth) +
                             " operators inside one another)");
    }
    if (!out_.nodes_[static_cast<size_t>(*root)].is_bool) {
      return error_at(1,
                      "the condition is a number, not true or false: compare it (e.g. psi > 0.2)");
    }
    out_.root_ = *root;
    return {};
  }

 private:
  Status error_at(size_t column, const std::string& message) const {
    return Error{"column " + std::to_string(column) + ": " + message};
  }
  Status error(const Token& t, const std::string& message) const {
    return error_at(t.column, message);
  }

  Status lex() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
        continue;
      }
      Token t;
      t.column = i + 1;
      if ((c >= '0' && c <= '9') ||
          (c == '.' && i + 1 < text_.size() && text_[i + 1] >= '0' && text_[i + 1] <= '9')) {
        const char* end = text_.data() + text_.size();
        auto [ptr, ec] = std::from_chars(text_.data() + i, end, t.number);
        if (ec != std::errc() || !std::isfinite(t.number)) {
          return error_at(i + 1, "not a number");
        }
        const size_t n = static_cast<size_t>(ptr - (text_.data() + i));
        t.kind = Tok::kNumber;
        t.text = text_.substr(i, n);
        i += n;
        if (i < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[i])) ||
                                 text_[i] == '_' || text_[i] == '.')) {
          return error_at(t.column,
                          "not a number: '" + std::string(text_.substr(t.column - 1, n + 1)) + "'");
        }
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '_')) {
          ++j;
        }
        t.kind = Tok::kName;
        t.text = text_.substr(i, j - i);
        i = j;
      } else {
        const std::string_view two = text_.substr(i, 2);
        if (two == "<=" || two == ">=" || two == "==" || two == "!=") {
          t.kind = Tok::kOp;
          t.text = two;
          i += 2;
        } else {
          t.text = text_.substr(i, 1);
          switch (c) {
            case '<':
            case '>':
            case '+':
            case '-':
            case '*':
            case '/':
              t.kind = Tok::kOp;
              break;
            case '(':
              t.kind = Tok::kLParen;
              break;
            case ')':
              t.kind = Tok::kRParen;
              break;
            case ',':
              t.kind = Tok::kComma;
              break;
            case ':':
              t.kind = Tok::kColon;
              break;
            case '.':
              t.kind = Tok::kDot;
              break;
            case '=':
              return error_at(i + 1, "'=' is not an operator: '==' compares");
            default:
              return error_at(i + 1, "unexpected character '" + std::string(1, c) + "'");
          }
          ++i;
        }
      }
      tokens_.push_back(t);
    }
    Token end;
    end.column = text_.size() + 1;
    tokens_.push_back(end);
    return {};
  }

  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_name(const Token& t, std::string_view name) const {
    return t.kind == Tok::kName && t.text == name;
  }
  bool is_op(const Token& t, std::string_view op) const {
    return t.kind == Tok::kOp && t.text == op;
  }

  int add(Node n) {
    n.height = 1 + std::max(n.a >= 0 ? node(n.a).height : 0, n.b >= 0 ? node(n.b).height : 0);
    out_.nodes_.push_back(std::move(n));
    return static_cast<int>(out_.nodes_.size() - 1);
  }
  const Node& node(int i) const { return out_.nodes_[static_cast<size_t>(i)]; }

  Status want_bool(int n, const Token& where, std::string_view what) const {
    if (node(n).is_bool) return {};
    return error(where, std::string(what) + " needs true or false, not a number");
  }
  Status want_number(int n, const Token& where, std::string_view what) const {
    if (!node(n).is_bool) return {};
    return error(where, std::string(what) + " needs a number, not true or false");
  }

  struct Depth {
    explicit Depth(int& d) : depth(d) { ++depth; }
    ~Depth() { --depth; }
    int& depth;
  };

  // any feature: E | all feature: E | or-expression
  Result<int> parse_quantified() {
    Depth guard(depth_);
    if (depth_ > kMaxParseDepth) return error(peek(), "nested too deep").error();
    if ((is_name(peek(), "any") || is_name(peek(), "all")) && is_name(peek(1), "feature")) {
      const Token& q = next();
      next();
      if (peek().kind != Tok::kColon) return error(peek(), "expected ':' after 'feature'").error();
      next();
      if (in_quantifier_) return error(q, "a quantifier inside a quantifier").error();
      in_quantifier_ = true;
      auto body = parse_quantified();
      in_quantifier_ = false;
      if (!body) return body;
      DRIFTD_TRY(want_bool(*body, q, std::string("'") + std::string(q.text) + " feature:'"));
      Node n;
      n.op = q.text == "any" ? Op::kAny : Op::kAll;
      n.is_bool = true;
      n.a = *body;
      return add(n);
    }
    return parse_or();
  }

  Result<int> parse_or() {
    auto left = parse_and();
    if (!left) return left;
    while (is_name(peek(), "or")) {
      const Token& op = next();
      auto right = parse_and();
      if (!right) return right;
      DRIFTD_TRY(want_bool(*left, op, "'or'"));
      DRIFTD_TRY(want_bool(*right, op, "'or'"));
      Node n;
      n.op = Op::kOr;
      n.is_bool = true;
      n.a = *left;
      n.b = *right;
      left = add(n);
    }
    return left;
  }

  Result<int> parse_and() {
    auto left = parse_not();
    if (!left) return left;
    while (is_name(peek(), "and")) {
      const Token& op = next();
      auto right = parse_not();
      if (!right) return right;
      DRIFTD_TRY(want_bool(*left, op, "'and'"));
      DRIFTD_TRY(want_bool(*right, op, "'and'"));
      Node n;
      n.op = Op::kAnd;
      n.is_bool = true;
      n.a = *left;
      n.b = *right;
      left = add(n);
    }
    return left;
  }

  Result<int> parse_not() {
    if (is_name(peek(), "not")) {
      Depth guard(depth_);
      if (depth_ > kMaxParseDepth) return error(peek(), "nested too deep").error();
      const Token& op = next();
      auto operand = parse_not();
      if (!operand) return operand;
      DRIFTD_TRY(want_bool(*operand, op, "'not'"));
      Node n;
      n.op = Op::kNot;
      n.is_bool = true;
      n.a = *operand;
      return add(n);
    }
    return parse_comparison();
  }

  Result<int> parse_comparison() {
    auto left = parse_sum();
    if (!left) return left;
    static constexpr std::array<std::pair<std::string_view, Op>, 6> kComparisons = {
        {{"<", Op::kLt},
         {"<=", Op::kLe},
         {">", Op::kGt},
         {">=", Op::kGe},
         {"==", Op::kEq},
         {"!=", Op::kNe}}};
    for (const auto& [text, op] : kComparisons) {
      if (!is_op(peek(), text)) continue;
      const Token& t = next();
      auto right = parse_sum();
      if (!right) return right;
      const bool equality = op == Op::kEq || op == Op::kNe;
      if (equality) {
        if (node(*left).is_bool != node(*right).is_bool) {
          return error(t, "'" + std::string(text) + "' compares a number with true or false")
              .error();
        }
      } else {
        DRIFTD_TRY(want_number(*left, t, "'" + std::string(text) + "'"));
        DRIFTD_TRY(want_number(*right, t, "'" + std::string(text) + "'"));
      }
      Node n;
      n.op = op;
      n.is_bool = true;
      n.a = *left;
      n.b = *right;
      const int id = add(n);
      if (out_.first_comparison_ < 0) out_.first_comparison_ = id;
      if (is_op(peek(), "<") || is_op(peek(), "<=") || is_op(peek(), ">") || is_op(peek(), ">=") ||
          is_op(peek(), "==") || is_op(peek(), "!=")) {
        return error(peek(), "comparisons do not chain: join them with 'and'").error();
      }
      return id;
    }
    return left;
  }

  Result<int> parse_sum() {
    auto left = parse_product();
    if (!left) return left;
    while (is_op(peek(), "+") || is_op(peek(), "-")) {
      const Token& t = next();
      auto right = parse_product();
      if (!right) return right;
      DRIFTD_TRY(want_number(*left, t, "'" + std::string(t.text) + "'"));
      DRIFTD_TRY(want_number(*right, t, "'" + std::string(t.text) + "'"));
      Node n;
      n.op = t.text == "+" ? Op::kAdd : Op::kSub;
      n.a = *left;
      n.b = *right;
      left = add(n);
    }
    return left;
  }

  Result<int> parse_product() {
    auto left = parse_unary();
    if (!left) return left;
    while (is_op(peek(), "*") || is_op(peek(), "/")) {
      const Token& t = next();
      auto right = parse_unary();
      if (!right) return right;
      DRIFTD_TRY(want_number(*left, t, "'" + std::string(t.text) + "'"));
      DRIFTD_TRY(want_number(*right, t, "'" + std::string(t.text) + "'"));
      Node n;
      n.op = t.text == "*" ? Op::kMul : Op::kDiv;
      n.a = *left;
      n.b = *right;
      left = add(n);
    }
    return left;
  }

  Result<int> parse_unary() {
    if (is_op(peek(), "-")) {
      Depth guard(depth_);
      if (depth_ > kMaxParseDepth) return error(peek(), "nested too deep").error();
      const Token& t = next();
      auto operand = parse_unary();
      if (!operand) return operand;
      DRIFTD_TRY(want_number(*operand, t, "'-'"));
      Node n;
      n.op = Op::kNeg;
      n.a = *operand;
      return add(n);
    }
    return parse_primary();
  }

  Status expect(Tok kind, std::string_view what) {
    if (peek().kind != kind) {
      const Token& t = peek();
      return error(
          t, "expected " + std::string(what) +
                 (t.kind == Tok::kEnd ? " at the end" : ", not '" + std::string(t.text) + "'"));
    }
    next();
    return {};
  }

  Result<int> parse_primary() {
    Depth guard(depth_);
    if (depth_ > kMaxParseDepth) return error(peek(), "nested too deep").error();
    const Token t = next();
    switch (t.kind) {
      case Tok::kNumber: {
        Node n;
        n.op = Op::kNumber;
        n.number = t.number;
        return add(n);
      }
      case Tok::kLParen: {
        auto inner = parse_quantified();
        if (!inner) return inner;
        DRIFTD_TRY(expect(Tok::kRParen, "')'"));
        return inner;
      }
      case Tok::kName:
        break;
      case Tok::kEnd:
        return error(t, "the condition ends too early").error();
      default:
        return error(t, "unexpected '" + std::string(t.text) + "'").error();
    }
    if (t.text == "true" || t.text == "false") {
      Node n;
      n.op = Op::kBool;
      n.is_bool = true;
      n.number = t.text == "true";
      return add(n);
    }
    if (peek().kind == Tok::kLParen) return parse_call(t);
    if (t.text == "any" || t.text == "all") {
      return error(t, "'" + std::string(t.text) + "' goes with 'feature:' (" + std::string(t.text) +
                          " feature: psi > 0.2)")
          .error();
    }
    std::vector<Token> parts = {t};
    while (peek().kind == Tok::kDot) {
      next();
      if (peek().kind != Tok::kName) return error(peek(), "expected a name after '.'").error();
      parts.push_back(next());
    }
    return resolve(parts);
  }

  Result<int> parse_call(const Token& f) {
    next();  // (
    Node n;
    if (f.text == "count") {
      if (!is_name(peek(), "feature") || peek(1).kind != Tok::kColon) {
        return error(peek(), "count takes 'feature: CONDITION' (count(feature: drift) >= 3)")
            .error();
      }
      next();
      next();
      if (in_quantifier_) return error(f, "a quantifier inside a quantifier").error();
      in_quantifier_ = true;
      auto body = parse_quantified();
      in_quantifier_ = false;
      if (!body) return body;
      DRIFTD_TRY(want_bool(*body, f, "count(feature: ...)"));
      n.op = Op::kCount;
      n.a = *body;
    } else if (f.text == "abs" || f.text == "min" || f.text == "max") {
      auto a = parse_quantified();
      if (!a) return a;
      DRIFTD_TRY(want_number(*a, f, std::string(f.text)));
      n.a = *a;
      n.op = f.text == "abs" ? Op::kAbs : f.text == "min" ? Op::kMin : Op::kMax;
      if (n.op != Op::kAbs) {
        DRIFTD_TRY(expect(Tok::kComma, "',' between " + std::string(f.text) + "'s two numbers"));
        auto b = parse_quantified();
        if (!b) return b;
        DRIFTD_TRY(want_number(*b, f, std::string(f.text)));
        n.b = *b;
      }
    } else {
      return error(f, "unknown function '" + std::string(f.text) + "' (abs, min, max, count)")
          .error();
    }
    DRIFTD_TRY(expect(Tok::kRParen, "')'"));
    return add(n);
  }

  static std::vector<std::string> column_names() {
    std::vector<std::string> names = {
        "missing_rate", "baseline_missing_rate", "type_error_rate", "infinite_rate",
        "drift",        "drift_value",           "threshold"};
    for (const Detector* d : all_detectors()) {
      for (const StatisticInfo& s : d->statistics()) names.emplace_back(s.key);
    }
    return names;
  }

  // A column's name (a statistic or one of its fields), or nullopt.
  std::optional<int> column_ref(const Token& name, Target target) {
    static const std::array<NamedField, 7> kFields = {{
        {"missing_rate", static_cast<int>(Field::kMissingRate), false},
        {"baseline_missing_rate", static_cast<int>(Field::kBaselineMissingRate), false},
        {"type_error_rate", static_cast<int>(Field::kTypeErrorRate), false},
        {"infinite_rate", static_cast<int>(Field::kInfiniteRate), false},
        {"drift", static_cast<int>(Field::kDrift), true},
        {"drift_value", static_cast<int>(Field::kDriftValue), false},
        {"threshold", static_cast<int>(Field::kThreshold), false},
    }};
    Node n;
    n.op = Op::kRef;
    n.ref = Ref::kColumn;
    n.target = target;
    for (const auto& f : kFields) {
      if (name.text == f.name) {
        n.field = static_cast<Field>(f.field);
        n.is_bool = f.is_bool;
        return add(n);
      }
    }
    if (find_statistic(name.text) == nullptr) return std::nullopt;
    n.field = Field::kStatistic;
    n.key = std::string(name.text);
    return add(n);
  }

  Result<int> resolve(const std::vector<Token>& parts) {
    const Token& head = parts[0];
    auto unknown = [&](const Token& at, std::string_view name,
                       const std::vector<std::string>& known, const char* what) {
      return error(at, "unknown " + std::string(what) + " '" + std::string(name) + "'" +
                           suggestion(name, known))
          .error();
    };
    static const std::vector<std::string> kWindowNames = {"rows", "drift_share", "dataset_drift",
                                                          "features_compared", "features_drifted"};
    if (parts.size() == 1) {
      static const std::array<std::pair<std::string_view, Ref>, 5> kWindow = {{
          {"rows", Ref::kRows},
          {"drift_share", Ref::kDriftShare},
          {"dataset_drift", Ref::kDatasetDrift},
          {"features_compared", Ref::kFeaturesCompared},
          {"features_drifted", Ref::kFeaturesDrifted},
      }};
      for (const auto& [name, ref] : kWindow) {
        if (head.text != name) continue;
        Node n;
        n.op = Op::kRef;
        n.ref = ref;
        n.is_bool = ref == Ref::kDatasetDrift;
        return add(n);
      }
      if (const auto column = column_ref(head, Target::kFeature)) {
        // A feature's name outside a quantifier: judged feature by feature.
        if (!in_quantifier_) out_.scope_ = ConditionScope::kFeature;
        return *column;
      }
      std::vector<std::string> known = column_names();
      known.insert(known.end(), kWindowNames.begin(), kWindowNames.end());
      for (const char* prefix : {"performance", "baseline", "schema", "prediction", "label"}) {
        if (head.text == prefix) {
          return error(head, "'" + std::string(prefix) + "' needs a name after it (" +
                                 std::string(prefix) + ".<name>)")
              .error();
        }
      }
      return unknown(head, head.text, known, "name");
    }
    if (parts.size() > 2) return error(parts[2], "a name has at most two parts").error();
    const Token& tail = parts[1];
    if (head.text == "performance" || head.text == "baseline") {
      if (std::find(kMetrics.begin(), kMetrics.end(), tail.text) == kMetrics.end()) {
        return unknown(tail, tail.text, std::vector<std::string>(kMetrics.begin(), kMetrics.end()),
                       "performance metric");
      }
      Node n;
      n.op = Op::kRef;
      n.ref = head.text == "performance" ? Ref::kPerformance : Ref::kBaselinePerformance;
      n.key = std::string(tail.text);
      return add(n);
    }
    if (head.text == "schema") {
      if (tail.text != "new_columns" && tail.text != "missing_columns") {
        return unknown(tail, tail.text, {"new_columns", "missing_columns"}, "schema count");
      }
      Node n;
      n.op = Op::kRef;
      n.ref = tail.text == "new_columns" ? Ref::kNewColumns : Ref::kMissingColumns;
      return add(n);
    }
    if (head.text == "prediction" || head.text == "label") {
      const auto column =
          column_ref(tail, head.text == "prediction" ? Target::kPrediction : Target::kLabel);
      if (column) return *column;
      return unknown(tail, tail.text, column_names(), "statistic");
    }
    return unknown(head, head.text, {"performance", "baseline", "schema", "prediction", "label"},
                   "prefix");
  }

  // The parser's own recursion, a few calls per level of the tree (a
  // canonical form of kMaxDepth levels parses within it).
  static constexpr int kMaxParseDepth = 4 * kMaxDepth;

  std::string_view text_;
  Condition& out_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool in_quantifier_ = false;
};

Result<Condition> Condition::parse(std::string_view text, size_t max_length) {
  if (text.size() > max_length) {
    return Error{"column 1: longer than " + std::to_string(max_length) + " bytes"};
  }
  Condition c;
  c.text_ = std::string(text);
  Parser p(text, c);
  DRIFTD_TRY(p.run());
  return c;
}

namespace {

const FeatureResult* role_column(const CheckReport& window, ColumnRole role) {
  for (const auto& f : window.features) {
    if (f.role == role) return &f;
  }
  return nullptr;
}

}  // namespace

Condition::Value Condition::eval(int index, const CheckReport& window,
                                 const FeatureResult* feature) const {
  const Node& n = nodes_[static_cast<size_t>(index)];
  auto known = [](double v) { return Value{std::isfinite(v), std::isfinite(v) ? v : 0}; };
  auto of = [&](std::optional<double> v) { return v ? known(*v) : Value{}; };
  auto truth = [](bool b) { return Value{true, b ? 1.0 : 0.0}; };
  switch (n.op) {
    case Op::kNumber:
    case Op::kBool:
      return Value{true, n.number};
    case Op::kRef:
      switch (n.ref) {
        case Ref::kRows:
          return known(static_cast<double>(window.rows));
        case Ref::kDriftShare:
          return known(window.drift_share);
        case Ref::kDatasetDrift:
          return truth(window.dataset_drift);
        case Ref::kFeaturesCompared:
          return known(static_cast<double>(window.features_compared));
        case Ref::kFeaturesDrifted:
          return known(static_cast<double>(window.features_drifted));
        case Ref::kNewColumns:
          return known(static_cast<double>(window.new_columns.size()));
        case Ref::kMissingColumns:
          return known(static_cast<double>(window.missing_columns.size()));
        case Ref::kPerformance:
        case Ref::kBaselinePerformance: {
          const auto& p =
              n.ref == Ref::kPerformance ? window.performance : window.baseline_performance;
          if (!p) return Value{};
          if (n.key == "rows") return known(static_cast<double>(p->rows));
          return of(p->get(n.key));
        }
        case Ref::kColumn: {
          const FeatureResult* c = n.target == Target::kFeature ? feature
                                   : n.target == Target::kPrediction
                                       ? role_column(window, ColumnRole::kPrediction)
                                       : role_column(window, ColumnRole::kLabel);
          if (c == nullptr) return Value{};
          switch (n.field) {
            case Field::kStatistic:
              return of(c->get(n.key));
            case Field::kMissingRate:
              return known(c->missing_rate);
            case Field::kBaselineMissingRate:
              return known(c->baseline_missing_rate);
            case Field::kTypeErrorRate:
              return known(c->type_error_rate);
            case Field::kInfiniteRate:
              return known(c->infinite_rate);
            case Field::kDrift:
              return truth(c->drift);
            case Field::kDriftValue:
              return of(c->drift_value);
            case Field::kThreshold:
              return known(c->rule.threshold);
          }
          return Value{};
        }
        case Ref::kNone:
          return Value{};
      }
      return Value{};
    case Op::kNeg: {
      const Value a = eval(n.a, window, feature);
      return a.known ? Value{true, -a.number} : a;
    }
    case Op::kAbs: {
      const Value a = eval(n.a, window, feature);
      return a.known ? Value{true, std::fabs(a.number)} : a;
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMin:
    case Op::kMax: {
      const Value a = eval(n.a, window, feature), b = eval(n.b, window, feature);
      if (!a.known || !b.known) return Value{};
      switch (n.op) {
        case Op::kAdd:
          return known(a.number + b.number);
        case Op::kSub:
          return known(a.number - b.number);
        case Op::kMul:
          return known(a.number * b.number);
        case Op::kDiv:
          return known(a.number / b.number);  // x / 0: not finite, unknown
        case Op::kMin:
          return known(std::min(a.number, b.number));
        default:
          return known(std::max(a.number, b.number));
      }
    }
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
    case Op::kEq:
    case Op::kNe: {
      const Value a = eval(n.a, window, feature), b = eval(n.b, window, feature);
      if (!a.known || !b.known) return Value{};
      switch (n.op) {
        case Op::kLt:
          return truth(a.number < b.number);
        case Op::kLe:
          return truth(a.number <= b.number);
        case Op::kGt:
          return truth(a.number > b.number);
        case Op::kGe:
          return truth(a.number >= b.number);
        case Op::kEq:
          return truth(a.number == b.number);
        default:
          return truth(a.number != b.number);
      }
    }
    case Op::kNot: {
      const Value a = eval(n.a, window, feature);
      return a.known ? truth(a.number == 0) : a;
    }
    case Op::kAnd:
    case Op::kOr: {
      // Kleene: a decided side decides, whatever the other is.
      const bool decides = n.op == Op::kOr;
      const Value a = eval(n.a, window, feature);
      if (a.known && (a.number != 0) == decides) return truth(decides);
      const Value b = eval(n.b, window, feature);
      if (b.known && (b.number != 0) == decides) return truth(decides);
      if (!a.known || !b.known) return Value{};
      return truth(!decides);
    }
    case Op::kAny:
    case Op::kAll: {
      const bool decides = n.op == Op::kAny;
      bool unknown = false;
      for (const auto& f : window.features) {
        if (f.role != ColumnRole::kFeature) continue;
        const Value v = eval(n.a, window, &f);
        if (!v.known) {
          unknown = true;
        } else if ((v.number != 0) == decides) {
          return truth(decides);
        }
      }
      return unknown ? Value{} : truth(!decides);
    }
    case Op::kCount: {
      double count = 0;
      for (const auto& f : window.features) {
        if (f.role != ColumnRole::kFeature) continue;
        const Value v = eval(n.a, window, &f);
        count += v.known && v.number != 0;
      }
      return Value{true, count};
    }
  }
  return Value{};
}

Truth Condition::evaluate(const CheckReport& window, const FeatureResult* feature) const {
  if (root_ < 0) return Truth::kUnknown;
  const Value v = eval(root_, window, feature);
  return !v.known ? Truth::kUnknown : v.number != 0 ? Truth::kTrue : Truth::kFalse;
}

Condition::Sides Condition::sides(const CheckReport& window, const FeatureResult* feature) const {
  Sides s;
  if (first_comparison_ < 0) return s;
  const Node& n = nodes_[static_cast<size_t>(first_comparison_)];
  const Value a = eval(n.a, window, feature), b = eval(n.b, window, feature);
  if (a.known) s.value = a.number;
  if (b.known) s.threshold = b.number;
  return s;
}

void Condition::print(int index, std::string& out) const {
  const Node& n = nodes_[static_cast<size_t>(index)];
  auto binary = [&](const char* op) {
    out += '(';
    print(n.a, out);
    out += ' ';
    out += op;
    out += ' ';
    print(n.b, out);
    out += ')';
  };
  switch (n.op) {
    case Op::kNumber: {
      // The shortest text that reads back as the same double: 0.3, not
      // 0.29999999999999999.
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n.number);
      out.append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
      return;
    }
    case Op::kBool:
      out += n.number != 0 ? "true" : "false";
      return;
    case Op::kRef: {
      static const std::array<const char*, 8> kFieldNames = {"",
                                                             "missing_rate",
                                                             "baseline_missing_rate",
                                                             "type_error_rate",
                                                             "infinite_rate",
                                                             "drift",
                                                             "drift_value",
                                                             "threshold"};
      switch (n.ref) {
        case Ref::kRows:
          out += "rows";
          return;
        case Ref::kDriftShare:
          out += "drift_share";
          return;
        case Ref::kDatasetDrift:
          out += "dataset_drift";
          return;
        case Ref::kFeaturesCompared:
          out += "features_compared";
          return;
        case Ref::kFeaturesDrifted:
          out += "features_drifted";
          return;
        case Ref::kNewColumns:
          out += "schema.new_columns";
          return;
        case Ref::kMissingColumns:
          out += "schema.missing_columns";
          return;
        case Ref::kPerformance:
          out += "performance." + n.key;
          return;
        case Ref::kBaselinePerformance:
          out += "baseline." + n.key;
          return;
        case Ref::kColumn:
          if (n.target == Target::kPrediction) out += "prediction.";
          if (n.target == Target::kLabel) out += "label.";
          out += n.field == Field::kStatistic ? n.key : kFieldNames[static_cast<size_t>(n.field)];
          return;
        case Ref::kNone:
          return;
      }
      return;
    }
    case Op::kNeg:
      out += "(-";
      print(n.a, out);
      out += ')';
      return;
    case Op::kNot:
      out += "(not ";
      print(n.a, out);
      out += ')';
      return;
    case Op::kAbs:
    case Op::kMin:
    case Op::kMax:
      out += n.op == Op::kAbs ? "abs(" : n.op == Op::kMin ? "min(" : "max(";
      print(n.a, out);
      if (n.b >= 0) {
        out += ", ";
        print(n.b, out);
      }
      out += ')';
      return;
    case Op::kAny:
    case Op::kAll:
      out += n.op == Op::kAny ? "(any feature: " : "(all feature: ";
      print(n.a, out);
      out += ')';
      return;
    case Op::kCount:
      out += "count(feature: ";
      print(n.a, out);
      out += ')';
      return;
    case Op::kAnd:
      return binary("and");
    case Op::kOr:
      return binary("or");
    case Op::kAdd:
      return binary("+");
    case Op::kSub:
      return binary("-");
    case Op::kMul:
      return binary("*");
    case Op::kDiv:
      return binary("/");
    case Op::kLt:
      return binary("<");
    case Op::kLe:
      return binary("<=");
    case Op::kGt:
      return binary(">");
    case Op::kGe:
      return binary(">=");
    case Op::kEq:
      return binary("==");
    case Op::kNe:
      return binary("!=");
  }
}

std::string Condition::canonical() const {
  std::string out;
  if (root_ >= 0) print(root_, out);
  return out;
}

}  // namespace driftd::alerts

namespace driftd::alerts {

// Interval analysis over the tree (Cousot & Cousot 1977, in its simplest
// form): each number node gets the interval its values lie in, each truth
// node whether it can be true and whether it can be false. Unknown values
// neither fire nor resolve, so only known results count.
class Condition::Analyzer {
 public:
  explicit Analyzer(const Condition& c) : c_(c) {}

  struct Interval {
    double lo = -kUnbounded, hi = kUnbounded;
    bool lo_open = true, hi_open = true;  // an infinite end is always open
    bool empty() const { return lo > hi || (lo == hi && (lo_open || hi_open)); }
  };
  // What conjunctions have said of single values: (identity, interval).
  using Facts = std::vector<std::pair<std::string, Interval>>;

  bool can_be(int index, bool want, const Facts& facts) const {
    const Node& n = node(index);
    switch (n.op) {
      case Op::kBool:
        return (n.number != 0) == want;
      case Op::kRef:  // drift, dataset_drift
        return true;
      case Op::kNot:
        return can_be(n.a, !want, facts);
      case Op::kAnd:
      case Op::kOr: {
        // A conjunction is true (a disjunction false) only when both sides
        // are: both sides' facts hold at once.
        if ((n.op == Op::kAnd) == want) {
          Facts both = facts;
          if (!learn(index, want, both)) return false;
          return can_be(n.a, want, both) && can_be(n.b, want, both);
        }
        return can_be(n.a, want, facts) || can_be(n.b, want, facts);
      }
      case Op::kAny:
      case Op::kAll:
        // The body judges other features than the one outside it.
        return can_be(n.a, want, without_feature(facts));
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kEq:
      case Op::kNe:
        return compare(n.op, range(n.a, facts), range(n.b, facts), want);
      default:
        return true;
    }
  }

  Interval range(int index, const Facts& facts) const {
    const Node& n = node(index);
    switch (n.op) {
      case Op::kNumber:
        return point(n.number);
      case Op::kRef: {
        const std::string id = identity(n);
        for (const auto& [known, interval] : facts) {
          if (known == id) return interval;
        }
        return natural(n);
      }
      case Op::kNeg: {
        const Interval a = range(n.a, facts);
        return Interval{-a.hi, -a.lo, a.hi_open, a.lo_open};
      }
      case Op::kAbs: {
        const Interval a = range(n.a, facts);
        if (a.lo >= 0) return a;
        if (a.hi <= 0) return Interval{-a.hi, -a.lo, a.hi_open, a.lo_open};
        return closed(0, std::max(-a.lo, a.hi));
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMin:
      case Op::kMax:
        return arithmetic(n.op, range(n.a, facts), range(n.b, facts));
      case Op::kCount:
        return closed(0, can_be(n.a, true, without_feature(facts)) ? kUnbounded : 0);
      default:
        return Interval{};
    }
  }

  // The values of the tree's names with a bounded range, as text.
  std::string ranges() const {
    std::vector<std::string> seen;
    std::string out;
    for (size_t i = 0; i < c_.nodes_.size(); ++i) {
      const Node& n = c_.nodes_[i];
      if (n.op != Op::kRef || n.is_bool) continue;
      const Interval r = natural(n);
      if (r.lo == -kUnbounded && r.hi == kUnbounded) continue;
      std::string name;
      c_.print(static_cast<int>(i), name);
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      out += (out.empty() ? "" : ", ") + name + " in " + (r.lo_open ? "(" : "[") + text(r.lo) +
             ", " + text(r.hi) + (r.hi_open ? ")" : "]");
    }
    return out;
  }

 private:
  const Node& node(int index) const { return c_.nodes_[static_cast<size_t>(index)]; }

  static Interval point(double v) { return Interval{v, v, false, false}; }
  static Interval closed(double lo, double hi) {
    return Interval{lo, hi, lo == -kUnbounded, hi == kUnbounded};
  }
  static std::string text(double v) {
    if (v == kUnbounded) return "+inf";
    if (v == -kUnbounded) return "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
  }

  static std::string identity(const Node& n) {
    return std::to_string(static_cast<int>(n.ref)) + "/" +
           std::to_string(static_cast<int>(n.target)) + "/" +
           std::to_string(static_cast<int>(n.field)) + "/" + n.key;
  }

  // The range a name's values lie in, whatever the window.
  static Interval natural(const Node& n) {
    constexpr double kInf = kUnbounded;
    switch (n.ref) {
      case Ref::kRows:
      case Ref::kFeaturesCompared:
      case Ref::kFeaturesDrifted:
      case Ref::kNewColumns:
      case Ref::kMissingColumns:
        return closed(0, kInf);
      case Ref::kDriftShare:
        return closed(0, 1);
      case Ref::kPerformance:
      case Ref::kBaselinePerformance:
        if (n.key == "r2") return closed(-kInf, 1);
        if (n.key == "log_loss" || n.key == "mae" || n.key == "rmse" || n.key == "rows")
          return closed(0, kInf);
        return closed(0, 1);  // accuracy, precision, recall, f1, roc_auc
      case Ref::kColumn:
        switch (n.field) {
          case Field::kStatistic:
            if (const StatisticInfo* s = find_statistic(n.key)) {
              return closed(s->min_value, s->max_value);
            }
            return Interval{};
          case Field::kMissingRate:
          case Field::kBaselineMissingRate:
          case Field::kTypeErrorRate:
          case Field::kInfiniteRate:
            return closed(0, 1);
          default:  // drift_value, threshold: the configured method's
            return Interval{};
        }
      default:
        return Interval{};
    }
  }

  static Interval arithmetic(Op op, const Interval& a, const Interval& b) {
    if (a.empty() || b.empty()) return Interval{};
    double lo = 0, hi = 0;
    switch (op) {
      case Op::kAdd:
        lo = a.lo + b.lo;
        hi = a.hi + b.hi;
        break;
      case Op::kSub:
        lo = a.lo - b.hi;
        hi = a.hi - b.lo;
        break;
      case Op::kMin:
        lo = std::min(a.lo, b.lo);
        hi = std::min(a.hi, b.hi);
        break;
      case Op::kMax:
        lo = std::max(a.lo, b.lo);
        hi = std::max(a.hi, b.hi);
        break;
      case Op::kMul:
      case Op::kDiv: {
        if (op == Op::kDiv && b.lo <= 0 && b.hi >= 0) return Interval{};
        const double p[4] = {
            op == Op::kMul ? a.lo * b.lo : a.lo / b.lo, op == Op::kMul ? a.lo * b.hi : a.lo / b.hi,
            op == Op::kMul ? a.hi * b.lo : a.hi / b.lo, op == Op::kMul ? a.hi * b.hi : a.hi / b.hi};
        lo = kUnbounded;
        hi = -kUnbounded;
        for (double v : p) {
          if (std::isnan(v)) return Interval{};  // 0 x inf: anything
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        break;
      }
      default:
        return Interval{};
    }
    if (std::isnan(lo) || std::isnan(hi)) return Interval{};
    // Open ends are closed here: a wider range, so a warning stays sure.
    return closed(lo, hi);
  }

  // Whether `a op b` can come out as `want` for some a and b in the ranges.
  static bool compare(Op op, const Interval& a, const Interval& b, bool want) {
    if (a.empty() || b.empty()) return false;
    // x < y for some x in a, y in b; x <= y likewise.
    const auto less = [](const Interval& x, const Interval& y) { return x.lo < y.hi; };
    const auto less_equal = [](const Interval& x, const Interval& y) {
      return x.lo < y.hi || (x.lo == y.hi && !x.lo_open && !y.hi_open);
    };
    switch (op) {
      case Op::kLt:
        return want ? less(a, b) : less_equal(b, a);
      case Op::kLe:
        return want ? less_equal(a, b) : less(b, a);
      case Op::kGt:
        return want ? less(b, a) : less_equal(a, b);
      case Op::kGe:
        return want ? less_equal(b, a) : less(a, b);
      case Op::kEq:
      case Op::kNe: {
        const bool overlap = less_equal(a, b) && less_equal(b, a);
        const bool one_point = a.lo == a.hi && b.lo == b.hi && a.lo == b.lo;
        return (op == Op::kEq) == want ? overlap : !one_point;
      }
      default:
        return true;
    }
  }

  static Facts without_feature(const Facts& facts) {
    Facts out;
    const std::string feature = "/" + std::to_string(static_cast<int>(Target::kFeature)) + "/";
    for (const auto& f : facts) {
      if (f.first.rfind(std::to_string(static_cast<int>(Ref::kColumn)) + feature, 0) != 0) {
        out.push_back(f);
      }
    }
    return out;
  }

  // Adds what `index` coming out as `want` says of single values (a name
  // compared with a number); false when that cannot hold.
  bool learn(int index, bool want, Facts& facts) const {
    const Node& n = node(index);
    switch (n.op) {
      case Op::kNot:
        return learn(n.a, !want, facts);
      case Op::kAnd:
      case Op::kOr:
        if ((n.op == Op::kAnd) != want) return true;  // either side: nothing sure
        return learn(n.a, want, facts) && learn(n.b, want, facts);
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        const Node& a = node(n.a);
        const Node& b = node(n.b);
        Op op = n.op;
        const Node* name = &a;
        double v = b.number;
        if (a.op == Op::kNumber && b.op == Op::kRef) {
          name = &b;
          v = a.number;
          op = op == Op::kLt   ? Op::kGt
               : op == Op::kLe ? Op::kGe
               : op == Op::kGt ? Op::kLt
                               : Op::kLe;
        } else if (!(a.op == Op::kRef && b.op == Op::kNumber)) {
          return true;
        }
        if (name->is_bool) return true;
        if (!want) {  // not (x < v) is x >= v, and so on
          op = op == Op::kLt   ? Op::kGe
               : op == Op::kLe ? Op::kGt
               : op == Op::kGt ? Op::kLe
                               : Op::kLt;
        }
        const std::string id = identity(*name);
        Interval* known = nullptr;
        for (auto& [fact, interval] : facts) {
          if (fact == id) known = &interval;
        }
        if (known == nullptr) {
          facts.emplace_back(id, natural(*name));
          known = &facts.back().second;
        }
        const bool strict = op == Op::kLt || op == Op::kGt;
        if (op == Op::kLt || op == Op::kLe) {
          if (v < known->hi || (v == known->hi && strict)) {
            known->hi = v;
            known->hi_open = strict;
          }
        } else if (v > known->lo || (v == known->lo && strict)) {
          known->lo = v;
          known->lo_open = strict;
        }
        return !known->empty();
      }
      default:
        return true;
    }
  }

  const Condition& c_;
};

Condition::Reach Condition::reach() const {
  Reach r;
  if (root_ < 0) return r;
  const Analyzer a(*this);
  r.can_be_true = a.can_be(root_, true, {});
  r.can_be_false = a.can_be(root_, false, {});
  r.ranges = a.ranges();
  return r;
}

}  // namespace driftd::alerts

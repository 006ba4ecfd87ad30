// A JMESPath interpreter: a lexer, a top-down operator precedence (Pratt)
// parser with the reference implementation's binding powers, so expressions
// group exactly as they do for az, and a tree-walking evaluator.
#include "frontend/query.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "frontend/pynum.h"

namespace batchai::frontend {

namespace json = boost::json;

enum class Kind {
  identity,           // the value itself (implicit: the right side of a bare projection)
  current,            // @
  literal,            // `json`, 'raw'
  field,              // name, "quoted name"
  subexpression,      // children applied in turn: a.b.c, a[0]
  pipe,               // the same, but a projection on the left ends at '|'
  index,              // [n] on an array
  slice,              // [start:stop:step] on an array
  projection,         // children[1] over each element of children[0]'s array
  value_projection,   // children[1] over each value of children[0]'s object
  filter_projection,  // children[1] over the elements where children[2] holds
  flatten,            // children[0]'s array with nested arrays merged one level
  multi_list,         // [a, b]
  multi_hash,         // {k: a, l: b}
  or_,
  and_,
  not_,
  compare,
  function,
  expref,  // &expr, an unevaluated argument of sort_by() and friends
};

enum class Cmp { eq, ne, lt, le, gt, ge };

struct Query::Node {
  Kind kind = Kind::identity;
  std::size_t pos = 0;  // byte offset in the text, for messages
  std::string name;     // field or function name
  json::value literal;
  std::int64_t index = 0;
  std::optional<std::int64_t> start, stop, step;
  Cmp cmp = Cmp::eq;
  std::vector<std::string> keys;  // multi_hash, one per child
  std::vector<std::unique_ptr<Node>> children;
  int height = 1;
};

namespace {

using Node = Query::Node;
using NodePtr = std::unique_ptr<Node>;

// Deep enough for any query a person writes; shallow enough that parsing,
// evaluating and destroying the tree cannot exhaust the stack.
constexpr int kMaxNesting = 256;

// Far deeper than any literal a person writes, as Python reads them (Boost's
// default stops at 32); deeper ones are refused, never read as a string.
constexpr std::size_t kMaxLiteralDepth = 512;

// Thrown only inside this file and caught by parse_query() and apply(), so
// the recursive parser and evaluator need not thread Results through every
// level.
struct Failure {
  Error error;
};

std::size_t char_offset(std::string_view text, std::size_t byte) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

[[noreturn]] void fail(std::string_view text, std::size_t byte, const std::string& what) {
  throw Failure{Error{"--query: at " + std::to_string(char_offset(text, byte)) + ": " + what}};
}

// ---------------------------------------------------------------- lexer

enum class Tok {
  eof, unquoted_identifier, quoted_identifier, literal, rbracket, rparen, comma, rbrace, number, current,
  expref, colon, pipe, or_, and_, eq, gt, lt, gte, lte, ne, flatten, star, filter, dot, not_, lbrace,
  lbracket, lparen,
};

struct Token {
  Tok type = Tok::eof;
  std::size_t pos = 0;
  std::string text;  // an identifier's name
  json::value value;  // a literal's value
  std::int64_t number = 0;
};

// The reference implementation's table: a token continues the expression to
// its left when its power exceeds the caller's. Below kProjectionStop a token
// ends a projection's right-hand side.
int binding_power(Tok t) {
  switch (t) {
    case Tok::pipe: return 1;
    case Tok::or_: return 2;
    case Tok::and_: return 3;
    case Tok::eq: case Tok::gt: case Tok::lt: case Tok::gte: case Tok::lte: case Tok::ne: return 5;
    case Tok::flatten: return 9;
    case Tok::star: return 20;
    case Tok::filter: return 21;
    case Tok::dot: return 40;
    case Tok::not_: return 45;
    case Tok::lbrace: return 50;
    case Tok::lbracket: return 55;
    case Tok::lparen: return 60;
    default: return 0;
  }
}
constexpr int kProjectionStop = 10;

bool is_identifier_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    while (i_ < text_.size()) {
      char c = text_[i_];
      std::size_t start = i_;
      auto simple = [&](Tok t, std::size_t len = 1) {
        out.push_back(Token{t, start, {}, {}, 0});
        i_ += len;
      };
      switch (c) {
        case ' ': case '\t': case '\n': case '\r': ++i_; continue;
        case '.': simple(Tok::dot); continue;
        case '*': simple(Tok::star); continue;
        case ']': simple(Tok::rbracket); continue;
        case ',': simple(Tok::comma); continue;
        case ':': simple(Tok::colon); continue;
        case '@': simple(Tok::current); continue;
        case '(': simple(Tok::lparen); continue;
        case ')': simple(Tok::rparen); continue;
        case '{': simple(Tok::lbrace); continue;
        case '}': simple(Tok::rbrace); continue;
        case '[':
          if (next_is(']')) simple(Tok::flatten, 2);
          else if (next_is('?')) simple(Tok::filter, 2);
          else simple(Tok::lbracket);
          continue;
        case '|': next_is('|') ? simple(Tok::or_, 2) : simple(Tok::pipe); continue;
        case '&': next_is('&') ? simple(Tok::and_, 2) : simple(Tok::expref); continue;
        case '<': next_is('=') ? simple(Tok::lte, 2) : simple(Tok::lt); continue;
        case '>': next_is('=') ? simple(Tok::gte, 2) : simple(Tok::gt); continue;
        case '!': next_is('=') ? simple(Tok::ne, 2) : simple(Tok::not_); continue;
        case '=':
          if (!next_is('=')) fail(text_, start, "expected '==' (a single '=' is not an operator)");
          simple(Tok::eq, 2);
          continue;
        case '\'': out.push_back(raw_string()); continue;
        case '`': out.push_back(json_literal()); continue;
        case '"': out.push_back(quoted_identifier()); continue;
        default: break;
      }
      if (is_identifier_start(c)) {
        while (i_ < text_.size() && (is_identifier_start(text_[i_]) || is_digit(text_[i_]))) ++i_;
        out.push_back(Token{Tok::unquoted_identifier, start, std::string(text_.substr(start, i_ - start)), {}, 0});
      } else if (is_digit(c) || c == '-') {
        out.push_back(number());
      } else {
        // The whole UTF-8 sequence, so the message shows the character.
        std::size_t end = i_ + 1;
        while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) ++end;
        fail(text_, start, "unexpected character '" + std::string(text_.substr(start, end - start)) + "'");
      }
    }
    out.push_back(Token{Tok::eof, text_.size(), {}, {}, 0});
    return out;
  }

 private:
  bool next_is(char c) const { return i_ + 1 < text_.size() && text_[i_ + 1] == c; }

  // As the reference lexer does it: a backslash keeps itself and protects
  // the next character, which is how a delimiter gets inside.
  std::string until(char delimiter, std::string_view what) {
    std::size_t start = i_++;
    std::string buf;
    for (;;) {
      if (i_ >= text_.size()) {
        fail(text_, start, "expected a closing " + std::string(1, delimiter) + " for the " + std::string(what) +
                               " that starts here");
      }
      if (text_[i_] == delimiter) break;
      if (text_[i_] == '\\') {
        buf += '\\';
        if (++i_ >= text_.size()) continue;  // reported above
      }
      buf += text_[i_++];
    }
    ++i_;
    return buf;
  }

  Token raw_string() {
    std::size_t start = i_;
    std::string s = replace_all(until('\'', "raw string"), "\\'", "'");
    return Token{Tok::literal, start, {}, json::string(s), 0};
  }

  Token json_literal() {
    std::size_t start = i_;
    std::string s = replace_all(until('`', "literal"), "\\`", "`");
    std::error_code ec;
    json::value v = pynum::parse(s, kMaxLiteralDepth, ec);
    if (ec == std::errc::value_too_large) {
      fail(text_, start, "expected a literal nested at most " + std::to_string(kMaxLiteralDepth) + " levels deep");
    }
    if (ec) {
      // Before JEP-12 a literal could be a bare string (`foo`); the reference
      // implementation, and so az, still reads it that way.
      std::size_t first = s.find_first_not_of(" \t\n\r");
      v = json::parse("\"" + s.substr(first == std::string::npos ? s.size() : first) + "\"", ec);
      if (ec) fail(text_, start, "expected a JSON value between backticks");
    }
    return Token{Tok::literal, start, {}, std::move(v), 0};
  }

  Token quoted_identifier() {
    std::size_t start = i_;
    std::string s = "\"" + until('"', "quoted identifier") + "\"";
    std::error_code ec;
    json::value v = json::parse(s, ec);
    if (ec || !v.is_string()) fail(text_, start, "expected a JSON string as the quoted identifier");
    return Token{Tok::quoted_identifier, start, std::string(v.get_string()), {}, 0};
  }

  Token number() {
    std::size_t start = i_;
    if (text_[i_] == '-') ++i_;
    while (i_ < text_.size() && is_digit(text_[i_])) ++i_;
    std::string_view digits = text_.substr(start, i_ - start);
    if (digits == "-") fail(text_, start, "expected a digit after '-'");
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      fail(text_, start, "expected a number from -2^63 to 2^63-1");
    }
    return Token{Tok::number, start, {}, {}, n};
  }

  std::string_view text_;
  std::size_t i_ = 0;
};

// ---------------------------------------------------------------- functions

enum class Fn {
  abs, avg, ceil, contains, ends_with, floor, join, keys, length, map, max, max_by, merge, min, min_by,
  not_null, reverse, sort, sort_by, starts_with, sum, to_array, to_number, to_string, type, values,
};

struct FunctionInfo {
  std::string_view name;
  Fn fn;
  std::size_t min_args, max_args;  // max_args SIZE_MAX: variadic
  unsigned expref_args;            // bit i: argument i is an &expression
};

constexpr std::size_t kMany = std::numeric_limits<std::size_t>::max();
constexpr FunctionInfo kFunctions[] = {
    {"abs", Fn::abs, 1, 1, 0},           {"avg", Fn::avg, 1, 1, 0},
    {"ceil", Fn::ceil, 1, 1, 0},         {"contains", Fn::contains, 2, 2, 0},
    {"ends_with", Fn::ends_with, 2, 2, 0}, {"floor", Fn::floor, 1, 1, 0},
    {"join", Fn::join, 2, 2, 0},         {"keys", Fn::keys, 1, 1, 0},
    {"length", Fn::length, 1, 1, 0},     {"map", Fn::map, 2, 2, 1u},
    {"max", Fn::max, 1, 1, 0},           {"max_by", Fn::max_by, 2, 2, 2u},
    {"merge", Fn::merge, 1, kMany, 0},   {"min", Fn::min, 1, 1, 0},
    {"min_by", Fn::min_by, 2, 2, 2u},    {"not_null", Fn::not_null, 1, kMany, 0},
    {"reverse", Fn::reverse, 1, 1, 0},   {"sort", Fn::sort, 1, 1, 0},
    {"sort_by", Fn::sort_by, 2, 2, 2u},  {"starts_with", Fn::starts_with, 2, 2, 0},
    {"sum", Fn::sum, 1, 1, 0},           {"to_array", Fn::to_array, 1, 1, 0},
    {"to_number", Fn::to_number, 1, 1, 0}, {"to_string", Fn::to_string, 1, 1, 0},
    {"type", Fn::type, 1, 1, 0},         {"values", Fn::values, 1, 1, 0},
};

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// ---------------------------------------------------------------- parser

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens) : text_(text), toks_(std::move(tokens)) {}

  NodePtr parse() {
    NodePtr root = expression(0);
    if (type() != Tok::eof) fail(text_, cur().pos, "expected an operator or the end of the query");
    check_exprefs(*root, false);
    return root;
  }

 private:
  const Token& cur() const { return toks_[i_]; }
  Tok type(std::size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)].type; }
  Token take() {
    Token t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  void expect(Tok t, const std::string& what) {
    if (type() != t) fail(text_, cur().pos, what);
    take();
  }

  NodePtr make(Kind kind, std::size_t pos, std::vector<NodePtr> children = {}) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    for (const auto& c : children) n->height = std::max(n->height, c->height + 1);
    if (n->height > kMaxNesting) fail(text_, pos, "expected at most " + std::to_string(kMaxNesting) + " levels of nesting");
    n->children = std::move(children);
    return n;
  }
  NodePtr identity(std::size_t pos) { return make(Kind::identity, pos); }
  NodePtr pair(Kind kind, std::size_t pos, NodePtr a, NodePtr b) {
    std::vector<NodePtr> c;
    c.push_back(std::move(a));
    c.push_back(std::move(b));
    return make(kind, pos, std::move(c));
  }
  // a.b.c and a | b | c as one node each, as the reference parser builds
  // them, so long chains do not nest.
  NodePtr chain(Kind kind, std::size_t pos, NodePtr left, NodePtr right) {
    if (left->kind != kind) return pair(kind, pos, std::move(left), std::move(right));
    left->height = std::max(left->height, right->height + 1);
    if (left->height > kMaxNesting) fail(text_, pos, "expected at most " + std::to_string(kMaxNesting) + " levels of nesting");
    left->children.push_back(std::move(right));
    return left;
  }

  NodePtr expression(int power) {
    // Parentheses nest the parser without nesting the tree.
    if (++depth_ > kMaxNesting) {
      fail(text_, cur().pos, "expected at most " + std::to_string(kMaxNesting) + " levels of nesting");
    }
    Token token = take();
    NodePtr left = nud(token);
    while (power < binding_power(type())) left = led(take(), std::move(left));
    --depth_;
    return left;
  }

  NodePtr nud(const Token& t) {
    switch (t.type) {
      case Tok::literal: {
        auto n = make(Kind::literal, t.pos);
        n->literal = t.value;
        return n;
      }
      case Tok::unquoted_identifier: return field(t);
      case Tok::quoted_identifier:
        if (type() == Tok::lparen) fail(text_, t.pos, "expected an unquoted function name before '('");
        return field(t);
      case Tok::star: {
        NodePtr right = type() == Tok::rbracket ? identity(t.pos) : projection_rhs(binding_power(Tok::star));
        return pair(Kind::value_projection, t.pos, identity(t.pos), std::move(right));
      }
      case Tok::filter: return filter(t, identity(t.pos));
      case Tok::lbrace: return multi_hash(t);
      case Tok::lparen: {
        NodePtr inner = expression(0);
        expect(Tok::rparen, "expected ')'");
        return inner;
      }
      case Tok::flatten: {
        std::vector<NodePtr> c;
        c.push_back(identity(t.pos));
        NodePtr flat = make(Kind::flatten, t.pos, std::move(c));
        return pair(Kind::projection, t.pos, std::move(flat), projection_rhs(binding_power(Tok::flatten)));
      }
      case Tok::not_: {
        std::vector<NodePtr> c;
        c.push_back(expression(binding_power(Tok::not_)));
        return make(Kind::not_, t.pos, std::move(c));
      }
      case Tok::lbracket:
        if (type() == Tok::number || type() == Tok::colon) return index_or_slice(t, identity(t.pos));
        if (type() == Tok::star && type(1) == Tok::rbracket) {
          take();
          take();
          return pair(Kind::projection, t.pos, identity(t.pos), projection_rhs(binding_power(Tok::star)));
        }
        return multi_list(t);
      case Tok::current: return make(Kind::current, t.pos);
      case Tok::expref: {
        std::vector<NodePtr> c;
        c.push_back(expression(0));
        return make(Kind::expref, t.pos, std::move(c));
      }
      case Tok::number: fail(text_, t.pos, "expected an expression (a number is written as a literal: `1`)");
      default: fail(text_, t.pos, "expected an expression");
    }
  }

  NodePtr led(const Token& t, NodePtr left) {
    switch (t.type) {
      case Tok::dot:
        if (type() == Tok::star) {
          take();
          return pair(Kind::value_projection, t.pos, std::move(left), projection_rhs(binding_power(Tok::dot)));
        }
        return chain(Kind::subexpression, t.pos, std::move(left), dot_rhs(binding_power(Tok::dot)));
      case Tok::pipe: return chain(Kind::pipe, t.pos, std::move(left), expression(binding_power(Tok::pipe)));
      case Tok::or_: return pair(Kind::or_, t.pos, std::move(left), expression(binding_power(Tok::or_)));
      case Tok::and_: return pair(Kind::and_, t.pos, std::move(left), expression(binding_power(Tok::and_)));
      case Tok::lparen: return function(t, std::move(left));
      case Tok::filter: return filter(t, std::move(left));
      case Tok::eq: return compare(t, Cmp::eq, std::move(left));
      case Tok::ne: return compare(t, Cmp::ne, std::move(left));
      case Tok::lt: return compare(t, Cmp::lt, std::move(left));
      case Tok::lte: return compare(t, Cmp::le, std::move(left));
      case Tok::gt: return compare(t, Cmp::gt, std::move(left));
      case Tok::gte: return compare(t, Cmp::ge, std::move(left));
      case Tok::flatten: {
        std::vector<NodePtr> c;
        c.push_back(std::move(left));
        NodePtr flat = make(Kind::flatten, t.pos, std::move(c));
        return pair(Kind::projection, t.pos, std::move(flat), projection_rhs(binding_power(Tok::flatten)));
      }
      case Tok::lbracket:
        if (type() == Tok::number || type() == Tok::colon) return index_or_slice(t, std::move(left));
        expect(Tok::star, "expected an index, a slice, '*' or '?' after '['");
        expect(Tok::rbracket, "expected ']' after '[*'");
        return pair(Kind::projection, t.pos, std::move(left), projection_rhs(binding_power(Tok::star)));
      case Tok::star: fail(text_, t.pos, "expected '.' or '[' before '*'");
      case Tok::lbrace: fail(text_, t.pos, "expected '.' before '{'");
      case Tok::not_: fail(text_, t.pos, "expected an operator before '!'");
      default: fail(text_, t.pos, "expected an operator or the end of the query");
    }
  }

  NodePtr field(const Token& t) {
    auto n = make(Kind::field, t.pos);
    n->name = t.text;
    return n;
  }

  NodePtr compare(const Token& t, Cmp cmp, NodePtr left) {
    auto n = pair(Kind::compare, t.pos, std::move(left), expression(binding_power(t.type)));
    n->cmp = cmp;
    return n;
  }

  // What follows a projection: more of the same path ('.', '[', '[?'), or
  // nothing when the next token ends it (a pipe, an operator, the end).
  NodePtr projection_rhs(int power) {
    if (binding_power(type()) < kProjectionStop) return identity(cur().pos);
    if (type() == Tok::lbracket || type() == Tok::filter) return expression(power);
    if (type() == Tok::dot) {
      take();
      return dot_rhs(power);
    }
    fail(text_, cur().pos, "expected '.', '[' or the end of the projection");
  }

  NodePtr dot_rhs(int power) {
    switch (type()) {
      case Tok::unquoted_identifier: case Tok::quoted_identifier: case Tok::star: return expression(power);
      case Tok::lbracket: return multi_list(take());
      case Tok::lbrace: return multi_hash(take());
      default: fail(text_, cur().pos, "expected an identifier after '.'");
    }
  }

  // After '[' with a number or ':' next: [n] applies to the value; a slice
  // projects, like [*].
  NodePtr index_or_slice(const Token& open, NodePtr left) {
    if (type() != Tok::colon && type(1) != Tok::colon) {
      auto n = make(Kind::index, cur().pos);
      n->index = take().number;
      expect(Tok::rbracket, "expected ']' after the index");
      return chain(Kind::subexpression, open.pos, std::move(left), std::move(n));
    }
    auto s = make(Kind::slice, open.pos);
    std::optional<std::int64_t>* parts[] = {&s->start, &s->stop, &s->step};
    std::size_t part = 0;
    bool have_number = false;
    while (type() != Tok::rbracket) {
      if (type() == Tok::colon) {
        if (++part == 3) fail(text_, cur().pos, "expected ']' after the slice's step");
        have_number = false;
        take();
      } else if (type() == Tok::number && !have_number) {
        if (part == 2 && cur().number == 0) fail(text_, cur().pos, "expected a slice step other than 0");
        *parts[part] = take().number;
        have_number = true;
      } else {
        fail(text_, cur().pos, have_number ? "expected ':' or ']' in the slice" : "expected a number, ':' or ']' in the slice");
      }
    }
    take();
    NodePtr sliced = chain(Kind::subexpression, open.pos, std::move(left), std::move(s));
    return pair(Kind::projection, open.pos, std::move(sliced), projection_rhs(binding_power(Tok::star)));
  }

  NodePtr filter(const Token& t, NodePtr left) {
    NodePtr condition = expression(0);
    expect(Tok::rbracket, "expected ']' to close the filter");
    NodePtr right = type() == Tok::flatten ? identity(cur().pos) : projection_rhs(binding_power(Tok::filter));
    std::vector<NodePtr> c;
    c.push_back(std::move(left));
    c.push_back(std::move(right));
    c.push_back(std::move(condition));
    return make(Kind::filter_projection, t.pos, std::move(c));
  }

  NodePtr multi_list(const Token& open) {
    std::vector<NodePtr> items;
    for (;;) {
      items.push_back(expression(0));
      if (type() == Tok::rbracket) break;
      expect(Tok::comma, "expected ',' or ']'");
    }
    take();
    return make(Kind::multi_list, open.pos, std::move(items));
  }

  NodePtr multi_hash(const Token& open) {
    std::vector<std::string> keys;
    std::vector<NodePtr> values;
    for (;;) {
      if (type() != Tok::unquoted_identifier && type() != Tok::quoted_identifier) {
        fail(text_, cur().pos, "expected an identifier as a key in '{'");
      }
      keys.push_back(take().text);
      expect(Tok::colon, "expected ':' after the key");
      values.push_back(expression(0));
      if (type() == Tok::rbrace) break;
      expect(Tok::comma, "expected ',' or '}'");
    }
    take();
    auto n = make(Kind::multi_hash, open.pos, std::move(values));
    n->keys = std::move(keys);
    return n;
  }

  // Unknown names and wrong counts are caught here, before the command runs.
  NodePtr function(const Token& open, NodePtr name) {
    if (name->kind != Kind::field) fail(text_, open.pos, "expected a function name before '('");
    std::vector<NodePtr> args;
    if (type() != Tok::rparen) {
      for (;;) {
        args.push_back(expression(0));
        if (type() == Tok::rparen) break;
        expect(Tok::comma, "expected ',' or ')'");
      }
    }
    take();
    const FunctionInfo* f = find_function(name->name);
    if (!f) {
      std::string known;
      for (const auto& k : kFunctions) known += (known.empty() ? "" : ", ") + std::string(k.name);
      fail(text_, name->pos, "expected a function name (" + known + "), got '" + name->name + "'");
    }
    if (args.size() < f->min_args || args.size() > f->max_args) {
      std::string count = (f->max_args == kMany ? "at least " : "") + std::to_string(f->min_args) +
                          (f->min_args == 1 ? " argument" : " arguments");
      fail(text_, name->pos, "expected " + count + " for " + std::string(f->name) + "(), got " + std::to_string(args.size()));
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      bool wants = i < 32 && (f->expref_args >> i) & 1u;
      if (wants != (args[i]->kind == Kind::expref)) {
        fail(text_, args[i]->pos,
             wants ? "expected an expression reference (&expr) as argument " + std::to_string(i + 1) + " of " +
                         std::string(f->name) + "()"
                   : "expected a value, not an expression reference, as argument " + std::to_string(i + 1) + " of " +
                         std::string(f->name) + "()");
      }
    }
    auto n = make(Kind::function, name->pos, std::move(args));
    n->name = name->name;
    return n;
  }

  // &expr is a value only where a function takes one; anywhere else the
  // reference implementation would hand back something that is not JSON.
  void check_exprefs(const Node& n, bool allowed) {
    if (n.kind == Kind::expref && !allowed) {
      fail(text_, n.pos, "expected '&' only in a function argument that takes an expression, as in sort_by(@, &name)");
    }
    for (const auto& c : n.children) check_exprefs(*c, n.kind == Kind::function);
  }

  std::string_view text_;
  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------- values

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Numbers by value, whatever their kinds (int64, uint64, double, big int),
// exactly as Python compares an int with a float.
int compare_numbers(const json::value& a, const json::value& b) { return pynum::compare(a, b); }

// JSON equality: numbers by value, objects whatever their key order.
bool equal(const json::value& a, const json::value& b) {
  if (pynum::is_number(a) && pynum::is_number(b)) return compare_numbers(a, b) == 0;
  if (pynum::is_number(a) || pynum::is_number(b) || a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null: return true;
    case json::kind::bool_: return a.get_bool() == b.get_bool();
    case json::kind::string: return a.get_string() == b.get_string();
    case json::kind::array: {
      const auto &x = a.get_array(), &y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!equal(x[i], y[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto &x = a.get_object(), &y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const json::value* w = y.if_contains(k);
        if (!w || !equal(v, *w)) return false;
      }
      return true;
    }
    default: return false;
  }
}

bool truthy(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return false;
    case json::kind::bool_: return v.get_bool();
    case json::kind::string: return !v.get_string().empty();
    case json::kind::array: return !v.get_array().empty();
    case json::kind::object: return !v.get_object().empty();
    default: return true;  // numbers, 0 included
  }
}

std::string type_name(const json::value& v) {
  if (pynum::is_number(v)) return "number";
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    default: return "number";
  }
}

std::string a_type(const json::value& v) {
  std::string t = type_name(v);
  if (t == "null") return t;
  return (t == "array" || t == "object" ? "an " : "a ") + t;
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// An integral double as the int it is, as Python's ceil() and floor()
// return ints (of any size).
json::value integral(double d) { return std::isfinite(d) ? pynum::exact_int(d) : json::value(d); }

// A string in the json-number grammar, or null (to_number()).
json::value parse_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t from = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i - from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  std::size_t int_start = i;
  if (digits() == 0 || (s[int_start] == '0' && i - int_start > 1)) return nullptr;
  bool integer = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return nullptr;
    integer = false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return nullptr;
    integer = false;
  }
  if (i != s.size()) return nullptr;
  return integer ? pynum::make_int(s) : json::value(pynum::parse_double(s));
}

void compact(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::double_:
    case json::kind::int64:
    case json::kind::uint64: out += pynum::repr(v); return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        compact(e, out);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      if (pynum::is_bigint(v)) {
        out += pynum::repr(v);
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(k));
        out += ':';
        compact(e, out);
      }
      out += '}';
      return;
    }
    default: out += json::serialize(v);
  }
}

// ---------------------------------------------------------------- evaluator

// An argument after evaluation: a value, or the expression of an &expr.
struct Arg {
  json::value value;
  const Node* expr = nullptr;
};

class Evaluator {
 public:
  explicit Evaluator(std::string_view text) : text_(text) {}

  json::value eval(const Node& n, const json::value& v) {
    switch (n.kind) {
      case Kind::identity:
      case Kind::current: return v;
      case Kind::literal: return n.literal;
      case Kind::field: {
        const json::value* f = pynum::is_object(v) ? v.get_object().if_contains(n.name) : nullptr;
        return f ? *f : json::value(nullptr);
      }
      case Kind::subexpression:
      case Kind::pipe: {
        json::value r = eval(*n.children[0], v);
        for (std::size_t i = 1; i < n.children.size(); ++i) r = eval(*n.children[i], r);
        return r;
      }
      case Kind::index: {
        if (!v.is_array()) return nullptr;
        const auto& a = v.get_array();
        auto size = static_cast<std::int64_t>(a.size());
        std::int64_t i = n.index < 0 ? n.index + size : n.index;
        if (i < 0 || i >= size) return nullptr;
        return a[static_cast<std::size_t>(i)];
      }
      case Kind::slice: return v.is_array() ? slice(n, v.get_array()) : json::value(nullptr);
      case Kind::projection: {
        json::value base = eval(*n.children[0], v);
        if (!base.is_array()) return nullptr;
        return project(n, base.get_array());
      }
      case Kind::value_projection: {
        json::value base = eval(*n.children[0], v);
        if (!pynum::is_object(base)) return nullptr;
        json::array values;
        for (const auto& [_, e] : base.get_object()) values.push_back(e);
        return project(n, values);
      }
      case Kind::filter_projection: {
        json::value base = eval(*n.children[0], v);
        if (!base.is_array()) return nullptr;
        json::array kept;
        for (const auto& e : base.get_array()) {
          if (truthy(eval(*n.children[2], e))) kept.push_back(e);
        }
        return project(n, kept);
      }
      case Kind::flatten: {
        json::value base = eval(*n.children[0], v);
        if (!base.is_array()) return nullptr;
        json::array merged;
        for (const auto& e : base.get_array()) {
          if (e.is_array()) {
            for (const auto& inner : e.get_array()) merged.push_back(inner);
          } else {
            merged.push_back(e);
          }
        }
        return merged;
      }
      case Kind::multi_list: {
        if (v.is_null()) return nullptr;
        json::array out;
        for (const auto& c : n.children) out.push_back(eval(*c, v));
        return out;
      }
      case Kind::multi_hash: {
        if (v.is_null()) return nullptr;
        json::object out;
        for (std::size_t i = 0; i < n.children.size(); ++i) out[n.keys[i]] = eval(*n.children[i], v);
        return out;
      }
      case Kind::or_: {
        json::value left = eval(*n.children[0], v);
        return truthy(left) ? left : eval(*n.children[1], v);
      }
      case Kind::and_: {
        json::value left = eval(*n.children[0], v);
        return truthy(left) ? eval(*n.children[1], v) : left;
      }
      case Kind::not_: return !truthy(eval(*n.children[0], v));
      case Kind::compare: return compare(n, eval(*n.children[0], v), eval(*n.children[1], v));
      case Kind::function: return call(n, v);
      case Kind::expref: return nullptr;  // only ever a function's argument (checked when parsed)
    }
    return nullptr;
  }

 private:
  json::value project(const Node& n, const json::array& elements) {
    json::array out;
    for (const auto& e : elements) {
      json::value r = eval(*n.children[1], e);
      if (!r.is_null()) out.push_back(std::move(r));
    }
    return out;
  }

  // Python's slice rules, which the specification adopts.
  static json::value slice(const Node& n, const json::array& a) {
    auto size = static_cast<std::int64_t>(a.size());
    std::int64_t step = n.step.value_or(1);
    auto clamp = [&](std::optional<std::int64_t> bound, std::int64_t fallback) {
      if (!bound) return fallback;
      std::int64_t b = *bound < 0 ? *bound + size : *bound;
      if (step > 0) return std::clamp<std::int64_t>(b, 0, size);
      return std::clamp<std::int64_t>(b, -1, size - 1);
    };
    std::int64_t start = clamp(n.start, step > 0 ? 0 : size - 1);
    std::int64_t stop = clamp(n.stop, step > 0 ? size : -1);
    // The distance left, compared unsigned, so a huge step cannot overflow.
    auto stride = step > 0 ? static_cast<std::uint64_t>(step) : std::uint64_t{0} - static_cast<std::uint64_t>(step);
    json::array out;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop;) {
      out.push_back(a[static_cast<std::size_t>(i)]);
      auto left = static_cast<std::uint64_t>(step > 0 ? stop - i : i - stop);
      if (left <= stride) break;
      i += step;
    }
    return out;
  }

  // ==, != on any values; <, <=, >, >= on two numbers or two strings (the
  // reference implementation's extension that az users rely on for dates),
  // null otherwise.
  static json::value compare(const Node& n, const json::value& a, const json::value& b) {
    if (n.cmp == Cmp::eq) return equal(a, b);
    if (n.cmp == Cmp::ne) return !equal(a, b);
    int c;
    if (pynum::is_number(a) && pynum::is_number(b)) {
      c = compare_numbers(a, b);
    } else if (a.is_string() && b.is_string()) {
      c = three_way(std::string_view(a.get_string()), std::string_view(b.get_string()));
    } else {
      return nullptr;
    }
    switch (n.cmp) {
      case Cmp::lt: return c < 0;
      case Cmp::le: return c <= 0;
      case Cmp::gt: return c > 0;
      default: return c >= 0;
    }
  }

  [[noreturn]] void type_error(const Node& call, std::size_t arg, const std::string& expected, const std::string& got) {
    fail(text_, call.pos, call.name + "() expected " + expected + " as argument " + std::to_string(arg + 1) + ", got " + got);
  }

  void require(const Node& call, const std::vector<Arg>& args, std::size_t i, bool ok, const std::string& expected) {
    if (!ok) type_error(call, i, expected, a_type(args[i].value));
  }

  // An array whose elements are all numbers or all strings (as the first
  // one is), for sort(), max() and min(); `numbers_only` for sum() and avg().
  const json::array& homogeneous(const Node& call, const std::vector<Arg>& args, std::size_t i, bool numbers_only) {
    std::string expected = numbers_only ? "an array of numbers" : "an array of numbers or an array of strings";
    require(call, args, i, args[i].value.is_array(), expected);
    const auto& a = args[i].value.get_array();
    if (a.empty()) return a;
    bool numbers = pynum::is_number(a[0]);
    for (const auto& e : a) {
      bool ok = numbers ? pynum::is_number(e) : (!numbers_only && e.is_string());
      if (!ok) type_error(call, i, expected, "an array holding " + a_type(e));
    }
    return a;
  }

  // The keys an &expr gives for each element, all numbers or all strings.
  std::vector<json::value> sort_keys(const Node& call, const Node& expr, const json::array& a) {
    std::vector<json::value> keys;
    for (const auto& e : a) {
      json::value k = eval(expr, e);
      bool ok = keys.empty() ? (pynum::is_number(k) || k.is_string()) : (pynum::is_number(k) == pynum::is_number(keys[0]) && (pynum::is_number(k) || k.is_string()));
      if (!ok) {
        fail(text_, call.pos, call.name + "() expected the expression to give all numbers or all strings, got " + a_type(k));
      }
      keys.push_back(std::move(k));
    }
    return keys;
  }

  // Python's sum(): ints add exactly, at any size, until the first float;
  // from there on each number is added as a float, in order (Python 3.11;
  // 3.12 compensates the rounding of float additions).
  static json::value python_sum(const json::array& a) {
    json::value total = std::int64_t{0};
    std::size_t i = 0;
    for (; i < a.size() && !a[i].is_double(); ++i) total = pynum::add(total, a[i]);
    if (i == a.size()) return total;
    double sum = pynum::to_double(total);
    for (; i < a.size(); ++i) sum += pynum::to_double(a[i]);
    return sum;
  }

  static int order(const json::value& a, const json::value& b) {
    if (pynum::is_number(a)) return compare_numbers(a, b);
    return three_way(std::string_view(a.get_string()), std::string_view(b.get_string()));
  }

  json::value call(const Node& n, const json::value& v) {
    std::vector<Arg> args;
    for (const auto& c : n.children) {
      if (c->kind == Kind::expref) {
        args.push_back(Arg{nullptr, c->children[0].get()});
      } else {
        args.push_back(Arg{eval(*c, v), nullptr});
      }
    }
    const FunctionInfo* f = find_function(n.name);
    const json::value& a0 = args[0].value;
    switch (f->fn) {
      case Fn::abs:
        require(n, args, 0, pynum::is_number(a0), "a number");
        if (a0.is_double()) return std::fabs(a0.get_double());
        return pynum::is_negative(a0) ? pynum::negate(a0) : a0;
      case Fn::avg: {
        const auto& a = homogeneous(n, args, 0, true);
        if (a.empty()) return nullptr;
        return pynum::to_double(python_sum(a)) / static_cast<double>(a.size());  // sum(a) / float(len(a))
      }
      case Fn::ceil:
        require(n, args, 0, pynum::is_number(a0), "a number");
        return a0.is_double() ? integral(std::ceil(a0.get_double())) : a0;
      case Fn::floor:
        require(n, args, 0, pynum::is_number(a0), "a number");
        return a0.is_double() ? integral(std::floor(a0.get_double())) : a0;
      case Fn::contains:
        require(n, args, 0, a0.is_array() || a0.is_string(), "an array or a string");
        if (a0.is_string()) {
          return args[1].value.is_string() &&
                 std::string_view(a0.get_string()).find(std::string_view(args[1].value.get_string())) != std::string_view::npos;
        }
        return std::any_of(a0.get_array().begin(), a0.get_array().end(),
                           [&](const json::value& e) { return equal(e, args[1].value); });
      case Fn::starts_with:
      case Fn::ends_with: {
        require(n, args, 0, a0.is_string(), "a string");
        require(n, args, 1, args[1].value.is_string(), "a string");
        std::string_view s = a0.get_string(), affix = args[1].value.get_string();
        return f->fn == Fn::starts_with ? s.starts_with(affix) : s.ends_with(affix);
      }
      case Fn::join: {
        require(n, args, 0, a0.is_string(), "a string");
        const json::value& a1 = args[1].value;
        require(n, args, 1, a1.is_array(), "an array of strings");
        std::string out;
        bool first = true;
        for (const auto& e : a1.get_array()) {
          if (!e.is_string()) type_error(n, 1, "an array of strings", "an array holding " + a_type(e));
          if (!first) out += a0.get_string();
          first = false;
          out += e.get_string();
        }
        return json::string(out);
      }
      case Fn::keys:
      case Fn::values: {
        require(n, args, 0, pynum::is_object(a0), "an object");
        json::array out;
        for (const auto& [k, e] : a0.get_object()) {
          if (f->fn == Fn::keys) {
            out.push_back(json::string(k));
          } else {
            out.push_back(e);
          }
        }
        return out;
      }
      case Fn::length:
        require(n, args, 0, a0.is_string() || a0.is_array() || pynum::is_object(a0), "a string, an array or an object");
        if (a0.is_string()) return static_cast<std::int64_t>(code_points(a0.get_string()));
        return static_cast<std::int64_t>(a0.is_array() ? a0.get_array().size() : a0.get_object().size());
      case Fn::map: {
        require(n, args, 1, args[1].value.is_array(), "an array");
        json::array out;
        for (const auto& e : args[1].value.get_array()) out.push_back(eval(*args[0].expr, e));
        return out;
      }
      case Fn::max:
      case Fn::min: {
        const auto& a = homogeneous(n, args, 0, false);
        if (a.empty()) return nullptr;
        std::size_t best = 0;
        for (std::size_t i = 1; i < a.size(); ++i) {
          int c = order(a[i], a[best]);
          if (f->fn == Fn::max ? c > 0 : c < 0) best = i;
        }
        return a[best];
      }
      case Fn::max_by:
      case Fn::min_by: {
        require(n, args, 0, a0.is_array(), "an array");
        const auto& a = a0.get_array();
        if (a.empty()) return nullptr;
        auto keys = sort_keys(n, *args[1].expr, a);
        std::size_t best = 0;
        for (std::size_t i = 1; i < a.size(); ++i) {
          int c = order(keys[i], keys[best]);
          if (f->fn == Fn::max_by ? c > 0 : c < 0) best = i;
        }
        return a[best];
      }
      case Fn::merge: {
        json::object out;
        for (std::size_t i = 0; i < args.size(); ++i) {
          require(n, args, i, pynum::is_object(args[i].value), "an object");
          for (const auto& [k, e] : args[i].value.get_object()) out[k] = e;
        }
        return out;
      }
      case Fn::not_null:
        for (const auto& a : args) {
          if (!a.value.is_null()) return a.value;
        }
        return nullptr;
      case Fn::reverse:
        require(n, args, 0, a0.is_array() || a0.is_string(), "an array or a string");
        if (a0.is_array()) {
          json::array out(a0.get_array().rbegin(), a0.get_array().rend());
          return out;
        } else {
          std::string_view s = a0.get_string();
          std::string out;
          for (std::size_t end = s.size(); end > 0;) {
            std::size_t begin = end - 1;
            while (begin > 0 && (static_cast<unsigned char>(s[begin]) & 0xC0) == 0x80) --begin;
            out += s.substr(begin, end - begin);
            end = begin;
          }
          return json::string(out);
        }
      case Fn::sort: {
        json::array out = homogeneous(n, args, 0, false);
        std::stable_sort(out.begin(), out.end(), [](const json::value& a, const json::value& b) { return order(a, b) < 0; });
        return out;
      }
      case Fn::sort_by: {
        require(n, args, 0, a0.is_array(), "an array");
        const auto& a = a0.get_array();
        auto keys = sort_keys(n, *args[1].expr, a);
        std::vector<std::size_t> idx(a.size());
        for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) { return order(keys[x], keys[y]) < 0; });
        json::array out;
        for (std::size_t i : idx) out.push_back(a[i]);
        return out;
      }
      case Fn::sum: {
        return python_sum(homogeneous(n, args, 0, true));
      }
      case Fn::to_array:
        if (a0.is_array()) return a0;
        return json::array{a0};
      case Fn::to_number:
        if (pynum::is_number(a0)) return a0;
        if (a0.is_string()) return parse_number(a0.get_string());
        return nullptr;
      case Fn::to_string:
        if (a0.is_string()) return a0;
        return json::string(compact_json(a0));
      case Fn::type: return json::string(type_name(a0));
    }
    return nullptr;
  }

  std::string_view text_;
};

}  // namespace

Result<Query> parse_query(std::string_view text) {
  try {
    Query q;
    q.text_ = std::string(text);
    q.root_ = Parser(q.text_, Lexer(q.text_).tokens()).parse();
    return q;
  } catch (const Failure& f) {
    return f.error;
  }
}

Result<boost::json::value> apply(const Query& query, const boost::json::value& input) {
  try {
    return Evaluator(query.text_).eval(*query.root_, input);
  } catch (const Failure& f) {
    return f.error;
  }
}

std::string compact_json(const boost::json::value& value) {
  std::string out;
  compact(value, out);
  return out;
}

}  // namespace batchai::frontend

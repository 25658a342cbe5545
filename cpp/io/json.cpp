#include "io/json.h"
#include "io/utf8.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace ssn {

namespace {

constexpr int kMaxDepth = 512;  // deeper nesting is rejected instead of exhausting the stack

[[noreturn]] void type_error(const char* expected) {
  throw std::runtime_error(std::string("JSON: expected ") + expected);
}

// The classic locale keeps '.' as the decimal point whatever the host application set.
bool parse_double(const std::string& text, double& out) {
  std::istringstream is(text);
  is.imbue(std::locale::classic());
  is >> out;
  return !is.fail() && is.eof();
}

std::string format_double(double v, int precision) {
  std::ostringstream os;
  os.imbue(std::locale::classic());
  os << std::setprecision(precision) << v;
  return os.str();
}

bool fits_int64(double v) { return v == std::floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

void dump_string(const std::string& s, std::string& out) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void dump_number(std::string& out, bool exact, int64_t i, double d) {
  if (exact) {
    out += std::to_string(i);
  } else if (!std::isfinite(d)) {
    out += "null";  // as JSON.stringify does: JSON has no NaN or Infinity
  } else if (fits_int64(d)) {
    out += std::to_string(static_cast<int64_t>(d));
  } else {
    // The shortest of 15..17 significant digits that reads back to the same double.
    for (int p = 15; p <= 17; ++p) {
      std::string s = format_double(d, p);
      double back = 0;
      if (p == 17 || (parse_double(s, back) && back == d)) {
        out += s;
        break;
      }
    }
  }
}

}  // namespace

// Recursive descent over the text, with a nesting limit; every error names the byte offset.
class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : s_(text) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  void expect_literal(const char* lit) {
    size_t n = std::char_traits<char>::length(lit);
    if (s_.compare(pos_, n, lit) != 0) fail("invalid literal");
    pos_ += n;
  }

  Json parse_value(int depth) {
    if (pos_ >= s_.size()) fail("unexpected end of input");
    char c = s_[pos_];
    switch (c) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"':
        return Json(parse_string());
      case 't':
        expect_literal("true");
        return Json(true);
      case 'f':
        expect_literal("false");
        return Json(false);
      case 'n':
        expect_literal("null");
        return Json();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        fail(std::string("unexpected character '") + c + "'");
    }
  }

  Json parse_object(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    ++pos_;  // '{'
    Json obj = Json::object();
    std::unordered_map<std::string, size_t> index;  // duplicate keys: the last one wins, as in JSON.parse
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key");
      std::string key = parse_string();
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail("expected ':'");
      ++pos_;
      skip_ws();
      Json value = parse_value(depth);
      auto it = index.find(key);
      if (it != index.end()) {
        obj.object_[it->second].second = std::move(value);
      } else {
        index.emplace(key, obj.object_.size());
        obj.object_.emplace_back(std::move(key), std::move(value));
      }
      skip_ws();
      if (pos_ >= s_.size()) fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return obj;
      }
      fail("expected ',' or '}'");
    }
  }

  Json parse_array(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    ++pos_;  // '['
    Json arr = Json::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      skip_ws();
      arr.array_.push_back(parse_value(depth));
      skip_ws();
      if (pos_ >= s_.size()) fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return arr;
      }
      fail("expected ',' or ']'");
    }
  }

  uint32_t parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        fail("invalid \\u escape");
    }
    pos_ += 4;
    return v;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("unpaired high surrogate");
            pos_ += 2;
            uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  Json parse_number() {
    const size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_, ++n;
      return n;
    };
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("invalid number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (digits() == 0) fail("digit expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("digit expected in exponent");
    }
    const std::string lit = s_.substr(start, pos_ - start);
    if (integral) {
      // Exact int64 when it fits; beyond that a double, as JavaScript would.
      bool neg = lit[0] == '-';
      uint64_t mag = 0;
      bool overflow = false;
      for (size_t i = neg ? 1 : 0; i < lit.size(); ++i) {
        uint64_t d = static_cast<uint64_t>(lit[i] - '0');
        if (mag > (std::numeric_limits<uint64_t>::max() - d) / 10) {
          overflow = true;
          break;
        }
        mag = mag * 10 + d;
      }
      const uint64_t limit = neg ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
      if (!overflow && mag <= limit) {
        Json j;
        j.type_ = Json::Type::Number;
        j.exact_int_ = true;
        j.int_ = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
        j.number_ = static_cast<double>(j.int_);
        return j;
      }
    }
    double d = 0;
    if (!parse_double(lit, d) || !std::isfinite(d)) {
      pos_ = start;
      fail("number out of range");
    }
    return Json(d);
  }

  const std::string& s_;
  size_t pos_ = 0;
};

Json::Json(bool v) : type_(Type::Bool), bool_(v) {}
Json::Json(double v) : type_(Type::Number), number_(v) {}
Json::Json(int v) : Json(static_cast<int64_t>(v)) {}
Json::Json(int64_t v) : type_(Type::Number), number_(static_cast<double>(v)), exact_int_(true), int_(v) {}
Json::Json(std::string v) : type_(Type::String), string_(std::move(v)) {}
Json::Json(const char* v) : type_(Type::String), string_(v) {}

Json Json::array() {
  Json j;
  j.type_ = Type::Array;
  return j;
}

Json Json::object() {
  Json j;
  j.type_ = Type::Object;
  return j;
}

Json Json::parse(const std::string& text) { return JsonParser(text).parse_document(); }

std::string Json::dump() const {
  std::string out;
  switch (type_) {
    case Type::Null:
      out = "null";
      break;
    case Type::Bool:
      out = bool_ ? "true" : "false";
      break;
    case Type::Number:
      dump_number(out, exact_int_, int_, number_);
      break;
    case Type::String:
      dump_string(string_, out);
      break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < array_.size(); ++i) {
        if (i) out += ',';
        out += array_[i].dump();
      }
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < object_.size(); ++i) {
        if (i) out += ',';
        dump_string(object_[i].first, out);
        out += ':';
        out += object_[i].second.dump();
      }
      out += '}';
      break;
  }
  return out;
}

bool Json::as_bool() const {
  if (type_ != Type::Bool) type_error("bool");
  return bool_;
}

double Json::as_number() const {
  if (type_ != Type::Number) type_error("number");
  return number_;
}

int64_t Json::as_int() const {
  if (type_ != Type::Number) type_error("number");
  if (exact_int_) return int_;
  if (!fits_int64(number_)) type_error("integer");
  return static_cast<int64_t>(number_);
}

const std::string& Json::as_string() const {
  if (type_ != Type::String) type_error("string");
  return string_;
}

const std::vector<Json>& Json::as_array() const {
  if (type_ != Type::Array) type_error("array");
  return array_;
}

const std::vector<std::pair<std::string, Json>>& Json::items() const {
  if (type_ != Type::Object) type_error("object");
  return object_;
}

bool Json::contains(const std::string& key) const {
  if (type_ != Type::Object) return false;
  for (const auto& kv : object_)
    if (kv.first == key) return true;
  return false;
}

const Json& Json::at(const std::string& key) const {
  if (type_ != Type::Object) type_error("object");
  for (const auto& kv : object_)
    if (kv.first == key) return kv.second;
  throw std::runtime_error("JSON: missing key '" + key + "'");
}

Json& Json::operator[](const std::string& key) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) type_error("object");
  for (auto& kv : object_)
    if (kv.first == key) return kv.second;
  object_.emplace_back(key, Json());
  return object_.back().second;
}

void Json::push_back(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) type_error("array");
  array_.push_back(std::move(v));
}

size_t Json::size() const {
  if (type_ == Type::Array) return array_.size();
  if (type_ == Type::Object) return object_.size();
  return 0;
}

}  // namespace ssn

#include "io/json.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace ssn {

namespace {

constexpr size_t kMaxDepth = 512;  // deeper nesting is rejected instead of exhausting the stack

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

// The parse itself is nlohmann-json's (its SAX parser keeps its own stack, so nesting cannot exhaust ours);
// this handler builds our value, keeps integers exact, limits the nesting and names the byte offset of errors.
class JsonBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Json take() { return std::move(root_); }
  [[noreturn]] void rethrow() const { throw std::runtime_error(error_); }

  bool null() override { return add(Json()); }
  bool boolean(bool v) override { return add(Json(v)); }
  bool number_integer(number_integer_t v) override { return add(Json(static_cast<int64_t>(v))); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v <= static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max())) {
      return add(Json(static_cast<int64_t>(v)));
    }
    return add(Json(static_cast<double>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override { return add(Json(static_cast<double>(v))); }
  bool string(string_t& v) override { return add(Json(std::move(v))); }
  bool binary(binary_t&) override { return false; }  // never produced by text JSON

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool key(string_t& k) override {
    open_.back().key = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // nlohmann counts the character it stopped on from 1; our offsets are 0-based.
    error_ = "JSON: " + message_of(e.what()) + " at offset " + std::to_string(position == 0 ? 0 : position - 1);
    return false;
  }

 private:
  struct Open {
    Json* value;                                    // a child is only ever added to the innermost, so this holds
    std::string key;                                // objects: the key of the next value
    std::unordered_map<std::string, size_t> index;  // objects: key -> member, so a repeated key replaces in place
  };

  // "[json.exception.parse_error.101] parse error at line 1, column 6: syntax error ..." -> "syntax error ..."
  static std::string message_of(std::string what) {
    if (const size_t b = what.find("] "); b != std::string::npos) what = what.substr(b + 2);
    if (what.rfind("parse error", 0) == 0) {
      if (const size_t c = what.find(": "); c != std::string::npos) what = what.substr(c + 2);
    }
    return what;
  }

  Json& add_to_parent(Json v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return root_;
    }
    Open& parent = open_.back();
    if (parent.value->type_ == Json::Type::Array) {
      parent.value->array_.push_back(std::move(v));
      return parent.value->array_.back();
    }
    auto& members = parent.value->object_;
    const auto [it, inserted] = parent.index.emplace(parent.key, members.size());
    if (!inserted) return members[it->second].second = std::move(v);
    members.emplace_back(std::move(parent.key), std::move(v));
    return members.back().second;
  }

  bool add(Json v) {
    add_to_parent(std::move(v));
    return true;
  }

  bool open(Json container) {
    if (open_.size() >= kMaxDepth) {
      error_ = "JSON: nesting deeper than " + std::to_string(kMaxDepth);
      return false;
    }
    Json& added = add_to_parent(std::move(container));
    open_.push_back({&added, {}, {}});
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  Json root_;
  std::vector<Open> open_;
  std::string error_;
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

Json Json::parse(const std::string& text) {
  JsonBuilder builder;
  if (!nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json, /*strict=*/true)) {
    builder.rethrow();
  }
  return builder.take();
}

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

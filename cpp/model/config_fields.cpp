#include "model/config_fields.h"

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace ssn::config_fields {

void fail(const std::string& path, const std::string& expected, const std::string& received) {
  throw Error(ErrorCode::Config,
              "Invalid model config field \"" + path + "\": expected " + expected + " but received " + received + ".",
              "The model file's config is damaged or was written by another program; re-export the model.");
}

std::string describe(const Json& j) {
  switch (j.type()) {
    case Json::Type::Null:
      return "null";
    case Json::Type::Bool:
      return j.as_bool() ? "true" : "false";
    case Json::Type::Number: {
      std::ostringstream os;
      os << j.as_number();
      return os.str();
    }
    case Json::Type::String:
      return "\"" + j.as_string() + "\"";
    case Json::Type::Array:
      return "an array";
    case Json::Type::Object:
      return "an object";
  }
  return "?";
}

const Json& field(const Json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key)) fail(path, "a value", "nothing (the field is missing)");
  return obj.at(key);
}

int64_t int_field(const Json& obj, const std::string& key, const std::string& path, int64_t lo, int64_t hi) {
  const Json& v = field(obj, key, path);
  std::ostringstream range;
  range << "an integer in " << lo << ".." << hi;
  if (!v.is_number() || std::floor(v.as_number()) != v.as_number()) fail(path, range.str(), describe(v));
  const double d = v.as_number();
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) fail(path, range.str(), describe(v));
  return static_cast<int64_t>(d);
}

bool bool_field(const Json& obj, const std::string& key, const std::string& path) {
  const Json& v = field(obj, key, path);
  if (!v.is_bool()) fail(path, "true or false", describe(v));
  return v.as_bool();
}

std::string string_field(const Json& obj, const std::string& key, const std::string& path) {
  const Json& v = field(obj, key, path);
  if (!v.is_string()) fail(path, "a string", describe(v));
  return v.as_string();
}

double number_field(const Json& obj, const std::string& key, const std::string& path, double lo, double hi) {
  const Json& v = field(obj, key, path);
  std::ostringstream expected;
  expected << "a finite number";
  if (std::isfinite(lo) && std::isfinite(hi))
    expected << " in " << lo << ".." << hi;
  else if (std::isfinite(lo))
    expected << " >= " << lo;
  else if (std::isfinite(hi))
    expected << " <= " << hi;
  if (!v.is_number() || !std::isfinite(v.as_number())) fail(path, expected.str(), describe(v));
  const double d = v.as_number();
  if (d < lo || d > hi) fail(path, expected.str(), describe(v));
  return d;
}

float finite_float(const Json& v, const std::string& path, bool positive) {
  const char* expected = positive ? "a finite number > 0" : "a finite number";
  if (!v.is_number() || !std::isfinite(v.as_number())) fail(path, expected, describe(v));
  if (positive && !(v.as_number() > 0)) fail(path, expected, describe(v));
  return static_cast<float>(v.as_number());
}

std::array<float, 3> triple_field(const Json& obj, const std::string& key, const std::string& path, bool positive) {
  const Json& v = field(obj, key, path);
  if (!v.is_array() || v.size() != 3) fail(path, "an array of 3 numbers", describe(v));
  std::array<float, 3> out{};
  for (size_t i = 0; i < 3; ++i) out[i] = finite_float(v.as_array()[i], path + "[" + std::to_string(i) + "]", positive);
  return out;
}

}  // namespace ssn::config_fields

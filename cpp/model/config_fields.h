// Reading the model config's JSON: typed fields whose every failure is an ssn::Error(Config) that names the
// field's path ("image_size.height", "calibration.pixel_threshold") and what it held.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "io/json.h"

namespace ssn::config_fields {

[[noreturn]] void fail(const std::string& path, const std::string& expected, const std::string& received);
std::string describe(const Json& j);  // a short rendering of a value for messages

const Json& field(const Json& obj, const std::string& key, const std::string& path);  // must be present
int64_t int_field(const Json& obj, const std::string& key, const std::string& path, int64_t lo, int64_t hi);
bool bool_field(const Json& obj, const std::string& key, const std::string& path);
std::string string_field(const Json& obj, const std::string& key, const std::string& path);
// A finite number in [lo, hi] (the bounds may be infinite).
double number_field(const Json& obj, const std::string& key, const std::string& path, double lo, double hi);
float finite_float(const Json& v, const std::string& path, bool positive);
std::array<float, 3> triple_field(const Json& obj, const std::string& key, const std::string& path, bool positive);

}  // namespace ssn::config_fields

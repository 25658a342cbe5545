// A small JSON value: parse (with nlohmann-json), build, dump. Used for the safetensors header and metadata, TF.js
// model.json and the model config. Objects keep insertion order so that dumps are stable.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ssn {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool v);
  Json(double v);
  Json(int v);
  Json(int64_t v);
  Json(std::string v);
  Json(const char* v);
  static Json array();
  static Json object();

  // Throws std::runtime_error("JSON: <what> at offset N") on malformed text.
  static Json parse(const std::string& text);
  std::string dump() const;  // compact, no spaces; numbers that are integers print without a decimal point

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Accessors throw std::runtime_error("JSON: expected <type>") on a type mismatch.
  bool as_bool() const;
  double as_number() const;
  int64_t as_int() const;  // also checks the number is integral
  const std::string& as_string() const;
  const std::vector<Json>& as_array() const;
  const std::vector<std::pair<std::string, Json>>& items() const;  // object members in order

  bool contains(const std::string& key) const;   // false for non-objects
  const Json& at(const std::string& key) const;  // throws "JSON: missing key 'k'"
  Json& operator[](const std::string& key);      // object: insert null if absent (null becomes object)
  void push_back(Json v);                        // array (null becomes array)
  size_t size() const;                           // array/object size, else 0

 private:
  friend class JsonBuilder;

  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0.0;
  // Integers written or parsed as such are kept exactly (a double holds only 53 bits).
  bool exact_int_ = false;
  int64_t int_ = 0;
  std::string string_;
  std::vector<Json> array_;
  std::vector<std::pair<std::string, Json>> object_;
};

}  // namespace ssn

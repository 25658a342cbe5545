#include "tools/pickle_json.h"

#include <utility>

#include "common/error.h"
#include "io/binary_file.h"

namespace ssn {

namespace {

// Split files are two or three levels deep; the limit keeps a hostile pickle from exhausting the stack.
constexpr int kMaxDepth = 64;

Json convert(const pickle::Value& v, const std::string& source, int depth) {
  using K = pickle::Value::Kind;
  if (depth > kMaxDepth) {
    throw Error(ErrorCode::Input,
                "Expected split data nested at most " + std::to_string(kMaxDepth) + " levels deep in " + source,
                "Split files hold lists of (sample id, is_segmented) pairs.");
  }
  switch (v.kind) {
    case K::None:
      return Json();
    case K::Bool:
      return Json(v.boolean);
    case K::Int:
      return Json(v.integer);
    case K::Float:
      return Json(v.real);
    case K::String:
      return Json(v.text);
    case K::Bytes: {
      std::string latin1;  // each byte as the code point of the same value
      for (unsigned char c : v.text) {
        if (c < 0x80) {
          latin1 += static_cast<char>(c);
        } else {
          latin1 += static_cast<char>(0xC0 | (c >> 6));
          latin1 += static_cast<char>(0x80 | (c & 0x3F));
        }
      }
      return Json(std::move(latin1));
    }
    case K::List:
    case K::Tuple:
    case K::Set: {
      Json out = Json::array();
      for (const auto& item : v.items) out.push_back(convert(*item, source, depth + 1));
      return out;
    }
    case K::Dict: {
      bool string_keys = true;
      for (const auto& e : v.entries) string_keys = string_keys && e.first->is(K::String);
      Json out = string_keys ? Json::object() : Json::array();
      for (const auto& e : v.entries) {
        if (string_keys) {
          out[e.first->text] = convert(*e.second, source, depth + 1);
        } else {
          Json pair = Json::array();
          pair.push_back(convert(*e.first, source, depth + 1));
          pair.push_back(convert(*e.second, source, depth + 1));
          out.push_back(std::move(pair));
        }
      }
      return out;
    }
    default:
      throw Error(
          ErrorCode::Input,
          "Expected plain data (lists, tuples, dicts, numbers, strings) in " + source + " but found " + v.describe(),
          "Split files hold lists of (sample id, is_segmented) pairs; re-save the file with plain types.");
  }
}

}  // namespace

Json pickle_to_json(const pickle::Value& value, const std::string& source) { return convert(value, source, 0); }

std::string read_pickle_json(const std::string& path) {
  const std::string bytes = BinaryFile(path).read_all();
  pickle::LoadOptions options;
  options.source = path;
  return pickle_to_json(*pickle::load(bytes, options).value, path).dump();
}

}  // namespace ssn

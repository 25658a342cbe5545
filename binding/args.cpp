#include "args.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "errors.h"

namespace ssn_binding {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

[[noreturn]] void fail(const std::string& what, const std::string& name, const Napi::Value& value,
                       const std::string& hint = "") {
  throw ArgumentError("Expected " + what + " for " + name + " but received " + describe_value(value), hint);
}

std::string truncated(const std::string& s, size_t max_chars) {
  return s.size() <= max_chars ? s : s.substr(0, max_chars) + "...";
}

std::string optional_string(const Napi::Object& obj, const char* key, const std::string& fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) fail("a string", std::string("options.") + key, v);
  return v.As<Napi::String>().Utf8Value();
}

bool optional_bool(const Napi::Object& obj, const char* key, bool fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) fail("a boolean", std::string("options.") + key, v);
  return v.As<Napi::Boolean>().Value();
}

// precision (the core names the valid values), threads, cudaGraphs: shared by create and load.
void parse_runtime_fields(const Napi::Object& obj, ssn::Precision& precision, int64_t& threads, bool& cuda_graphs) {
  // The core names the valid values when the string is not one of them.
  const std::string p = optional_string(obj, "precision", "");
  if (!p.empty()) precision = ssn::parse_precision(p);
  Napi::Value t = obj.Get("threads");
  if (!t.IsUndefined())
    threads = static_cast<int64_t>(integer_in_range(t, "options.threads", 0, static_cast<double>(ssn::kMaxThreads)));
  cuda_graphs = optional_bool(obj, "cudaGraphs", cuda_graphs);
}

}  // namespace

double integer_in_range(const Napi::Value& value, const std::string& name, double min, double max) {
  if (value.IsNumber()) {
    const double v = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(v) && std::floor(v) == v && v >= min && v <= max) return v;
  }
  std::ostringstream what;
  what.precision(17);
  what << "an integer between " << min << " and " << max;
  fail(what.str(), name, value);
}

std::string describe_value(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return value.As<Napi::Boolean>().Value() ? "true (boolean)" : "false (boolean)";
    case napi_number:
      return value.ToString().Utf8Value() + " (number)";
    case napi_bigint:
      return "a bigint";
    case napi_string:
      return "'" + truncated(value.As<Napi::String>().Utf8Value(), 60) + "' (string)";
    case napi_symbol:
      return "a symbol";
    case napi_function:
      return "a function";
    case napi_external:
      return "an external";
    case napi_object:
      break;
  }
  if (value.IsArray()) return "an array of length " + std::to_string(value.As<Napi::Array>().Length());
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array:
        return "an Int8Array";
      case napi_uint8_array:
        return "a Uint8Array";
      case napi_uint8_clamped_array:
        return "a Uint8ClampedArray";
      case napi_int16_array:
        return "an Int16Array";
      case napi_uint16_array:
        return "a Uint16Array";
      case napi_int32_array:
        return "an Int32Array";
      case napi_uint32_array:
        return "a Uint32Array";
      case napi_float32_array:
        return "a Float32Array";
      case napi_float64_array:
        return "a Float64Array";
      default:
        return "a typed array";
    }
  }
  if (value.IsArrayBuffer()) return "an ArrayBuffer";
  if (value.IsPromise()) return "a Promise";
  return "an object";
}

OwnedImage parse_image(const Napi::Value& item, const std::string& name) {
  const std::string shape = "{data: Uint8Array, width, height, channels: 1|3|4}";
  if (!item.IsObject() || item.IsArray() || item.IsTypedArray()) fail("an image " + shape, name, item);
  Napi::Object obj = item.As<Napi::Object>();

  OwnedImage image;
  image.width = static_cast<int64_t>(integer_in_range(obj.Get("width"), name + ".width", 1, ssn::kMaxInputSide));
  image.height = static_cast<int64_t>(integer_in_range(obj.Get("height"), name + ".height", 1, ssn::kMaxInputSide));
  Napi::Value channels = obj.Get("channels");
  const double c = integer_in_range(channels, name + ".channels", 1, 4);
  if (c == 2) fail("1, 3 or 4", name + ".channels", channels);
  image.channels = static_cast<int64_t>(c);

  Napi::Value data = obj.Get("data");
  if (!data.IsTypedArray()) fail("a Uint8Array", name + ".data", data);
  Napi::TypedArray typed = data.As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_uint8_array && typed.TypedArrayType() != napi_uint8_clamped_array) {
    fail("a Uint8Array", name + ".data", data);
  }
  const size_t expected = static_cast<size_t>(image.width * image.height * image.channels);
  const size_t length = typed.ByteLength();
  if (length != expected) {
    throw ArgumentError("Expected " + std::to_string(expected) + " bytes (width " + std::to_string(image.width) +
                            " x height " + std::to_string(image.height) + " x channels " +
                            std::to_string(image.channels) + ") for " + name + ".data but received " +
                            std::to_string(length) + " bytes",
                        "Raw pixels are rows of width * channels bytes with no padding.");
  }
  const auto* bytes = static_cast<const uint8_t*>(typed.ArrayBuffer().Data()) + typed.ByteOffset();
  image.pixels.assign(bytes, bytes + length);
  return image;
}

std::vector<OwnedImage> parse_images(const Napi::Value& value) {
  if (!value.IsArray()) fail("an array of images {data: Uint8Array, width, height, channels: 1|3|4}", "images", value);
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() == 0) fail("at least one image", "images", value);

  std::vector<OwnedImage> images;
  images.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i)
    images.push_back(parse_image(array.Get(i), "images[" + std::to_string(i) + "]"));
  return images;
}

ssn::CreateOptions parse_create_options(const Napi::Value& value) {
  if (!value.IsObject() || value.IsArray()) fail("an object", "options", value);
  Napi::Object obj = value.As<Napi::Object>();
  ssn::CreateOptions options;

  Napi::Value arch = obj.Get("arch");
  if (!arch.IsString()) fail("a backbone architecture name", "options.arch", arch);
  options.arch = ssn::parse_backbone_arch(arch.As<Napi::String>().Utf8Value());
  options.backbone_weights = optional_string(obj, "backboneWeights", options.backbone_weights);
  Napi::Value random = obj.Get("randomBackbone");
  if (!random.IsUndefined()) {
    if (!random.IsBoolean()) fail("a boolean", "options.randomBackbone", random);
    options.random_backbone = random.As<Napi::Boolean>().Value();
  }
  options.head_weights = optional_string(obj, "headWeights", options.head_weights);
  options.head_format = ssn::parse_head_format(optional_string(obj, "headFormat", "auto"));
  options.variant = ssn::parse_model_variant(optional_string(obj, "variant", "icpr"));

  Napi::Value image_h = obj.Get("imageH");
  if (!image_h.IsUndefined()) {
    options.image_h =
        static_cast<int64_t>(integer_in_range(image_h, "options.imageH", ssn::kMinModelSide, ssn::kMaxModelSide));
  }
  Napi::Value image_w = obj.Get("imageW");
  if (!image_w.IsUndefined()) {
    options.image_w =
        static_cast<int64_t>(integer_in_range(image_w, "options.imageW", ssn::kMinModelSide, ssn::kMaxModelSide));
  }
  // The core names the valid values when the string is not one of them.
  options.device = ssn::parse_device_preference(optional_string(obj, "device", "auto"));
  Napi::Value seed = obj.Get("seed");
  if (!seed.IsUndefined()) {
    options.seed = static_cast<uint64_t>(integer_in_range(seed, "options.seed", 0, kMaxSafeInteger));
  }
  parse_runtime_fields(obj, options.precision, options.threads, options.cuda_graphs);
  return options;
}

ssn::LoadOptions parse_load_options(const Napi::Value& device, const Napi::Value& runtime) {
  ssn::LoadOptions options;
  if (!device.IsUndefined() && !device.IsString()) fail("'auto', 'cpu' or 'cuda'", "device", device);
  options.device = ssn::parse_device_preference(device.IsString() ? device.As<Napi::String>().Utf8Value() : "auto");
  if (runtime.IsUndefined()) return options;
  if (!runtime.IsObject() || runtime.IsArray())
    fail("an object {precision?, threads?, cudaGraphs?}", "options", runtime);
  parse_runtime_fields(runtime.As<Napi::Object>(), options.precision, options.threads, options.cuda_graphs);
  return options;
}

std::string parse_path(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) fail("a file path string", name, value);
  std::string path = value.As<Napi::String>().Utf8Value();
  if (path.empty()) fail("a non-empty file path", name, value);
  if (path.find('\0') != std::string::npos) fail("a file path without NUL characters", name, value);
  return path;
}

ssn::ImageU8 image_view(const OwnedImage& image) {
  return ssn::ImageU8{image.pixels.empty() ? nullptr : image.pixels.data(), image.width, image.height, image.channels};
}

std::vector<ssn::ImageU8> image_views(const std::vector<OwnedImage>& images) {
  std::vector<ssn::ImageU8> views;
  views.reserve(images.size());
  for (const OwnedImage& image : images) views.push_back(image_view(image));
  return views;
}

}  // namespace ssn_binding

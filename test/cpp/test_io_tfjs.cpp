// TF.js layers models written by the test: sharded groups, quantized weights, missing and short shards.
#include <cstring>
#include <string>

#include "common/error.h"
#include "io/checkpoint.h"
#include "test_framework.h"
#include "test_io_helpers.h"

namespace {

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string o;
  for (T v : values) o.append(reinterpret_cast<const char*>(&v), sizeof(T));  // the test host is little-endian
  return o;
}

// Group 0: conv/kernel float32 [2,3] (split across both shards), conv/step int32 [3],
//          dense/q float32 [4] as uint8 (scale 0.5, min -1).
// Group 1: dense/h float32 [2] as float16, dense/mask bool [3].
struct Model {
  std::string json = R"({"format":"layers-model","modelTopology":{"class_name":"Functional"},"weightsManifest":[
    {"paths":["group1-shard1of2.bin","group1-shard2of2.bin"],"weights":[
      {"name":"conv/kernel","shape":[2,3],"dtype":"float32"},
      {"name":"conv/step","shape":[3],"dtype":"int32"},
      {"name":"dense/q","shape":[4],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}}]},
    {"paths":["group2-shard1of1.bin"],"weights":[
      {"name":"dense/h","shape":[2],"dtype":"float32","quantization":{"dtype":"float16"}},
      {"name":"dense/mask","shape":[3],"dtype":"bool"}]}]})";
  std::string group1 = raw<float>({0.5f, -1.0f, 2.0f, 3.25f, 4.0f, -5.5f}) + raw<int32_t>({1, -2, 300}) +
                       std::string("\x00\x02\x04\xff", 4);
  // float16 1.5 = 0x3e00, -2 = 0xc000
  std::string group2 = raw<uint16_t>({0x3e00, 0xc000}) + std::string("\x01\x00\x01", 3);

  void write(const ssn_test::TempDir& dir) const {
    ssn_test::write_bytes(dir.file("model.json"), json);
    ssn_test::write_bytes(dir.file("group1-shard1of2.bin"), group1.substr(0, 10));  // splits a float
    ssn_test::write_bytes(dir.file("group1-shard2of2.bin"), group1.substr(10));
    ssn_test::write_bytes(dir.file("group2-shard1of1.bin"), group2);
  }
};

std::string error_of(const std::string& path) {
  try {
    ssn::read_tfjs_layers_model(path);
  } catch (const ssn::Error& e) {
    return std::string(ssn::error_code_name(e.code())) + ": " + e.what();
  }
  return "no error";
}

}  // namespace

SSN_TEST(io_tfjs_reads_sharded_and_quantized_weights) {
  ssn_test::TempDir dir("tfjs_ok");
  Model m;
  m.write(dir);
  const auto t = ssn::read_tfjs_layers_model(dir.file("model.json"));
  SSN_CHECK(t.size() == 5);
  SSN_CHECK(t.at("conv/kernel").scalar_type() == torch::kFloat);
  SSN_CHECK(torch::equal(t.at("conv/kernel"), torch::tensor({0.5f, -1.0f, 2.0f, 3.25f, 4.0f, -5.5f}).view({2, 3})));
  SSN_CHECK(t.at("conv/step").scalar_type() == torch::kInt);
  SSN_CHECK(torch::equal(t.at("conv/step"), torch::tensor({1, -2, 300}, torch::kInt)));
  // uint8 quantization: q * scale + min
  SSN_CHECK(torch::equal(t.at("dense/q"), torch::tensor({-1.0f, 0.0f, 1.0f, 126.5f})));
  SSN_CHECK(torch::equal(t.at("dense/h"), torch::tensor({1.5f, -2.0f})));
  SSN_CHECK(t.at("dense/mask").scalar_type() == torch::kBool);
  SSN_CHECK(torch::equal(t.at("dense/mask"), torch::tensor({true, false, true})));
  SSN_CHECK(ssn::read_any_checkpoint(dir.file("model.json")).size() == 5);
}

SSN_TEST(io_tfjs_missing_short_and_long_shards) {
  {
    ssn_test::TempDir dir("tfjs_missing");
    Model m;
    m.write(dir);
    std::filesystem::remove(dir.file("group1-shard2of2.bin"));
    const std::string err = error_of(dir.file("model.json"));
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find("group1-shard2of2.bin") != std::string::npos &&
                      err.find("missing") != std::string::npos,
                  err);
  }
  {
    ssn_test::TempDir dir("tfjs_short");
    Model m;
    m.write(dir);
    ssn_test::write_bytes(dir.file("group2-shard1of1.bin"), m.group2.substr(0, m.group2.size() - 1));
    const std::string err = error_of(dir.file("model.json"));
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find("needs 7 bytes") != std::string::npos &&
                      err.find("hold 6") != std::string::npos && err.find("short") != std::string::npos,
                  err);
  }
  {
    ssn_test::TempDir dir("tfjs_long");
    Model m;
    m.write(dir);
    ssn_test::write_bytes(dir.file("group2-shard1of1.bin"), m.group2 + "x");
    SSN_CHECK_THROWS_CODE(ssn::read_tfjs_layers_model(dir.file("model.json")), ssn::ErrorCode::Checkpoint);
  }
}

SSN_TEST(io_tfjs_rejects_bad_model_json) {
  ssn_test::TempDir dir("tfjs_bad");
  const std::string path = dir.file("model.json");
  struct Case {
    const char* json;
    const char* expect;
  };
  const Case cases[] = {
      {"{\"weightsManifest\": [", "not valid JSON"},
      {"{\"modelTopology\": {}}", "no weightsManifest"},
      {"{\"weightsManifest\": []}", "lists no weights"},
      {R"({"weightsManifest":[{"paths":[],"weights":[{"name":"s","shape":[1],"dtype":"string"}]}]})",
       "unsupported dtype"},
      {R"({"weightsManifest":[{"paths":[],"weights":[{"name":"s","shape":[-1],"dtype":"float32"}]}]})",
       "bad dimension"},
      {R"({"weightsManifest":[{"paths":[],"weights":[{"name":"q","shape":[1],"quantization":{"dtype":"int4"}}]}]})",
       "unsupported quantization"},
  };
  for (const auto& c : cases) {
    ssn_test::write_bytes(path, c.json);
    const std::string err = error_of(path);
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find(c.expect) != std::string::npos, err);
  }
  SSN_CHECK(error_of(dir.file("nope.json")).rfind("ERR_SSN_IO", 0) == 0);
}

// A manifest must not read files outside the model's folder: not by an absolute name, not through "..", not
// through a symlink, and a refusal must not leak the outside file's size.
SSN_TEST(io_tfjs_confines_shards_to_the_model_folder) {
  ssn_test::TempDir dir("tfjs_confined");
  const std::filesystem::path model_dir = dir.path() / "model";
  std::filesystem::create_directories(model_dir);
  Model m;
  ssn_test::write_bytes((dir.path() / "secret.bin").string(), m.group2);  // right size for group 2: would load
  ssn_test::write_bytes((model_dir / "group1-shard1of2.bin").string(), m.group1.substr(0, 10));
  ssn_test::write_bytes((model_dir / "group1-shard2of2.bin").string(), m.group1.substr(10));
  std::filesystem::create_symlink(dir.path() / "secret.bin", model_dir / "link.bin");
  const std::string json = (model_dir / "model.json").string();
  for (const std::string& name : {(dir.path() / "secret.bin").string(), std::string("../secret.bin"),
                                  std::string("link.bin"), std::string("sub/../../secret.bin")}) {
    std::string manifest = m.json;
    const std::string own = "\"group2-shard1of1.bin\"";
    manifest.replace(manifest.find(own), own.size(), "\"" + name + "\"");
    ssn_test::write_bytes(json, manifest);
    const std::string err = error_of(json);
    SSN_CHECK_MSG(
        err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && (err.find("outside the model's folder") != std::string::npos ||
                                                    err.find("not a file name inside") != std::string::npos),
        name + ": " + err);
    SSN_CHECK_MSG(err.find("hold") == std::string::npos && err.find("bytes") == std::string::npos, name + ": " + err);
  }
  // A symlink that stays inside the folder is fine.
  ssn_test::write_bytes((model_dir / "real.bin").string(), m.group2);
  std::filesystem::create_symlink(model_dir / "real.bin", model_dir / "inside.bin");
  std::string manifest = m.json;
  manifest.replace(manifest.find("\"group2-shard1of1.bin\""), 22, "\"inside.bin\"");
  ssn_test::write_bytes(json, manifest);
  SSN_CHECK(ssn::read_tfjs_layers_model(json).size() == 5);
}

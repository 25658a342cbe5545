// safetensors: round trip of every supported dtype, validation of damaged files, atomic writes.
#include <filesystem>
#include <string>

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "test_framework.h"
#include "test_io_helpers.h"

namespace {

// A safetensors file from a header text and data bytes, as another writer could have made it.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string error_of(const std::string& path) {
  try {
    ssn::read_safetensors(path);
  } catch (const ssn::Error& e) {
    return std::string(ssn::error_code_name(e.code())) + ": " + e.what();
  }
  return "no error";
}

std::vector<std::string> leftovers(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) names.push_back(name);
  }
  return names;
}

}  // namespace

SSN_TEST(io_safetensors_round_trip_all_dtypes_and_metadata) {
  ssn_test::TempDir dir("st_roundtrip");
  torch::manual_seed(3);
  ssn::NamedTensors tensors;
  tensors["f32"] = torch::randn({2, 3});
  tensors["f16"] = torch::randn({5}).to(torch::kHalf);
  tensors["bf16"] = torch::randn({3, 1}).to(torch::kBFloat16);
  tensors["f64"] = torch::randn({4}, torch::kDouble);
  tensors["i64"] = torch::tensor({int64_t(1) << 40, int64_t(-3)});
  tensors["i32"] = torch::tensor({7, -8, 9}, torch::kInt);
  tensors["i16"] = torch::tensor({-300, 300}, torch::kShort);
  tensors["i8"] = torch::tensor({-5, 5, 0}, torch::kChar);
  tensors["u8"] = torch::tensor({0, 255, 17}, torch::kByte);
  tensors["bool"] = torch::tensor({true, false, true});
  tensors["empty"] = torch::zeros({0, 3});
  tensors["scalar"] = torch::tensor(2.5f);
  tensors["strided"] = torch::arange(12, torch::kFloat).view({3, 4}).t();  // written contiguous
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}};
  const std::string path = dir.file("model.safetensors");
  ssn::write_safetensors_atomic(path, tensors, meta);

  const auto back = ssn::read_safetensors(path);
  SSN_CHECK(back.metadata == meta);
  SSN_CHECK(back.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    const auto& b = back.tensors.at(name);
    SSN_CHECK_MSG(b.scalar_type() == t.scalar_type() && b.sizes() == t.sizes() && torch::equal(b, t), name);
  }
  SSN_CHECK(leftovers(dir.path()).empty());

  // The layout: header padded to 8 bytes, entries sorted by name and packed back to back.
  const std::string bytes = ssn_test::read_bytes(path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  SSN_CHECK(header_len % 8 == 0);
  const ssn::Json header = ssn::Json::parse(bytes.substr(8, header_len));
  std::string previous;
  int64_t next_offset = 0;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    SSN_CHECK(name > previous);
    previous = name;
    SSN_CHECK(info.at("data_offsets").as_array()[0].as_int() == next_offset);
    next_offset = info.at("data_offsets").as_array()[1].as_int();
  }
  SSN_CHECK(bytes.size() == 8 + header_len + static_cast<uint64_t>(next_offset));
  SSN_CHECK(ssn::read_any_checkpoint(path).size() == tensors.size());

  // Overwriting keeps the path valid and replaces the content.
  ssn::write_safetensors_atomic(path, {{"only", torch::ones({1})}}, {});
  const auto again = ssn::read_safetensors(path);
  SSN_CHECK(again.tensors.size() == 1 && again.metadata.empty());
  SSN_CHECK(leftovers(dir.path()).empty());
}

SSN_TEST(io_safetensors_rejects_damaged_files) {
  ssn_test::TempDir dir("st_bad");
  const std::string good = dir.file("good.safetensors");
  ssn::write_safetensors_atomic(good, {{"a", torch::arange(4, torch::kFloat)}, {"b", torch::ones({2}, torch::kLong)}},
                                {});
  const std::string bytes = ssn_test::read_bytes(good);
  const std::string path = dir.file("bad.safetensors");
  const std::string f8(8, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;
  };
  const Case cases[] = {
      {"truncated data", bytes.substr(0, bytes.size() - 1), "truncated"},
      {"truncated header", bytes.substr(0, 20), "header length"},
      {"shorter than 8 bytes", bytes.substr(0, 5), "shorter than"},
      {"absurd header length", std::string("\xff\xff\xff\xff\xff\x00\x00\x00{}", 10), "header length"},
      {"header not JSON", raw_file("{\"a\": nope}", ""), "header: JSON"},
      {"header not an object", raw_file("[1, 2]  ", ""), "not a JSON object"},
      {"overlap",
       raw_file(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           f8 + "1234"),
       "overlap"},
      {"size mismatch", raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f8), "need 12"},
      {"offsets beyond data", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", f8), "truncated"},
      {"reversed offsets", raw_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f8), "data_offsets"},
      {"unknown dtype", raw_file(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", f8),
       "unsupported dtype"},
      {"negative dimension", raw_file(R"({"a":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}})", f8), "negative"},
      {"no shape", raw_file(R"({"a":{"dtype":"U8","data_offsets":[0,8]}})", f8), "no shape"},
      {"metadata not strings", raw_file(R"({"__metadata__":{"n":1}})", ""), "not a string"},
  };
  for (const auto& c : cases) {
    ssn_test::write_bytes(path, c.bytes);
    const std::string err = error_of(path);
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find(c.expect) != std::string::npos,
                  c.what << ": " << err);
  }
  SSN_CHECK(error_of(dir.file("missing.safetensors")).rfind("ERR_SSN_IO", 0) == 0);
  SSN_CHECK(error_of(good) == "no error");
}

SSN_TEST(io_safetensors_failed_writes_leave_nothing_behind) {
  ssn_test::TempDir dir("st_write");
  const ssn::NamedTensors t = {{"a", torch::ones({3})}};
  // A folder that does not exist: the temp file cannot even be created.
  SSN_CHECK_THROWS_CODE(ssn::write_safetensors_atomic(dir.file("no/such/folder/x.safetensors"), t, {}),
                        ssn::ErrorCode::Io);
  // The target is a non-empty folder: the temp file is written but the rename fails, and it is removed.
  const std::string blocker = dir.file("blocked.safetensors");
  std::filesystem::create_directories(std::filesystem::path(blocker) / "inside");
  SSN_CHECK_THROWS_CODE(ssn::write_safetensors_atomic(blocker, t, {}), ssn::ErrorCode::Io);
  SSN_CHECK(leftovers(dir.path()).empty());
  SSN_CHECK(std::filesystem::is_directory(blocker));
  // Bad input is refused before anything is written.
  SSN_CHECK_THROWS_CODE(
      ssn::write_safetensors_atomic(dir.file("c.safetensors"), {{"c", torch::ones({1}, torch::kComplexFloat)}}, {}),
      ssn::ErrorCode::Input);
  SSN_CHECK(!ssn_test::file_exists(dir.file("c.safetensors")));
  SSN_CHECK(leftovers(dir.path()).empty());
}

// A save killed mid-write leaves "<target>.tmp-<pid>"; the next save of that target removes the files of writers
// that are gone, and leaves those of live ones (and other targets') alone.
SSN_TEST(io_safetensors_a_save_removes_the_temp_files_of_dead_writers) {
  ssn_test::TempDir dir("st_orphans");
  const std::string target = dir.file("model.safetensors");
  const std::string dead = target + ".tmp-999999999";  // above any pid_max: no such process
  const std::string live = target + ".tmp-1";          // init runs as long as the machine does
  const std::string other = dir.file("other.safetensors.tmp-999999999");
  const std::string odd = target + ".tmp-notapid";
  for (const auto& f : {dead, live, other, odd}) ssn_test::write_bytes(f, "partial");
  ssn::write_safetensors_atomic(target, {{"a", torch::ones({3})}}, {});
  SSN_CHECK(!ssn_test::file_exists(dead));
  SSN_CHECK(ssn_test::file_exists(live) && ssn_test::file_exists(other) && ssn_test::file_exists(odd));
  SSN_CHECK(torch::equal(ssn::read_safetensors(target).tensors.at("a"), torch::ones({3})));
}

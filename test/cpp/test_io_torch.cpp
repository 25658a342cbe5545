// PyTorch checkpoints: the golden zip and legacy files, a hand-made legacy file, and damaged files.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/zip_crc.h"
#include "official_head_keys.h"
#include "test_framework.h"
#include "test_io_helpers.h"

namespace {

std::string golden(const std::string& rel) { return ssn_test::golden_dir() + "/" + rel; }

std::string error_of(const std::string& path) {
  try {
    ssn::read_torch_checkpoint(path);
  } catch (const ssn::Error& e) {
    return std::string(ssn::error_code_name(e.code())) + ": " + e.what() + " | " + e.hint();
  }
  return "no error";
}

// ---- a legacy-format checkpoint assembled by hand (protocol 2, as torch.save(..., False) writes) ----
std::string u(const std::string& s) {  // BINUNICODE
  std::string o = "X";
  for (int i = 0; i < 4; ++i) o += static_cast<char>((s.size() >> (8 * i)) & 0xFF);
  return o + s;
}
std::string g(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string k(int v) { return std::string("K") + static_cast<char>(v); }
std::string le64(int64_t v) {
  std::string o;
  for (int i = 0; i < 8; ++i) o += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
  return o;
}
std::string f32(std::initializer_list<float> values) {
  std::string o;
  for (float v : values) o.append(reinterpret_cast<const char*>(&v), 4);  // the test host is little-endian
  return o;
}

// {'epoch': 3, 'state_dict': OrderedDict(w=<2x2 strided view of storage '0' at offset 1>,
//   whole=<all 6 elements of storage '0'>, p=Parameter(<int64 scalar of storage '1'>)), 'name': 'abc'}
// storage '0' lives on 'cuda:0' and holds 0..5; storage '1' holds 7.
std::string state_pickle() {
  const std::string empty_od = g("collections", "OrderedDict") + ")R";
  const std::string rebuild = g("torch._utils", "_rebuild_tensor_v2");
  const std::string pid0 = "(" + u("storage") + g("torch", "FloatStorage") + u("0") + u("cuda:0") + k(6) + "tQ";
  const std::string pid1 = "(" + u("storage") + g("torch", "LongStorage") + u("1") + u("cpu") + k(1) + "tQ";
  const std::string w =
      rebuild + "(" + pid0 + k(1) + k(2) + k(2) + "\x86" + k(1) + k(2) + "\x86" + "\x89" + empty_od + "tR";
  const std::string whole = rebuild + "(" + pid0 + k(0) + k(6) + "\x85" + k(1) + "\x85" + "\x89" + empty_od + "tR";
  const std::string scalar = rebuild + "(" + pid1 + k(0) + ")" + ")" + "\x89" + empty_od + "tR";
  const std::string p = g("torch._utils", "_rebuild_parameter") + "(" + scalar + "\x88" + empty_od + "tR";
  return "\x80\x02}(" + u("epoch") + k(3) + u("state_dict") + empty_od + "(" + u("w") + w + u("whole") + whole +
         u("p") + p + "u" + u("name") + u("abc") + "u.";
}
const std::string kStorage0 = f32({0, 1, 2, 3, 4, 5});
const std::string kStorage1 = le64(7);

std::string legacy_checkpoint() {
  std::string file;
  file += std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);  // magic number
  file += "\x80\x02M\xe9\x03.";                                                          // protocol 1001
  file += "\x80\x02}(" + u("little_endian") + "\x88u.";                                  // sys info
  file += state_pickle();
  file += "\x80\x02](" + u("0") + u("1") + "e.";  // storage keys
  file += le64(6) + kStorage0;
  file += le64(1) + kStorage1;
  return file;
}

void check_state(const ssn::NamedTensors& t) {
  SSN_CHECK(t.size() == 3);  // 'epoch' and 'name' are not tensors; state_dict is unwrapped
  const auto& w = t.at("w");
  SSN_CHECK(w.scalar_type() == torch::kFloat && w.device().is_cpu() && w.is_contiguous());
  SSN_CHECK(torch::equal(w, torch::tensor({1.0f, 3.0f, 2.0f, 4.0f}).view({2, 2})));
  SSN_CHECK(torch::equal(t.at("whole"), torch::arange(6, torch::kFloat)));
  SSN_CHECK(t.at("p").scalar_type() == torch::kLong && t.at("p").dim() == 0 && t.at("p").item<int64_t>() == 7);
}

// ---- a zip archive laid out as torch >= 2.1 writes it: data 64-byte aligned through a padding extra
// field in the local headers; optionally with zip64 records ----
std::string le(uint64_t v, int bytes) {
  std::string o;
  for (int i = 0; i < bytes; ++i) o += static_cast<char>((v >> (8 * i)) & 0xFF);
  return o;
}

struct Member {
  std::string name, data;
  uint16_t method = 0;  // 0 stored, 8 deflated (here: one stored deflate block, as a zip tool may write)
};

std::string make_zip(const std::vector<Member>& members, bool zip64) {
  std::string out, cd;
  for (const auto& original : members) {
    const uint32_t crc = ssn::crc32(original.data.data(), original.data.size());
    const uint64_t size = original.data.size();
    Member m = original;
    if (m.method == 8) m.data = std::string(1, '\x01') + le(size, 2) + le(~size & 0xFFFF, 2) + m.data;
    const uint64_t offset = out.size();
    const size_t pad = (64 - (out.size() + 30 + m.name.size() + 4) % 64) % 64;
    const std::string extra = le(0x4246, 2) + le(pad, 2) + std::string(pad, 'Z');
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(m.method, 2) + le(0, 4) + le(crc, 4) + le(m.data.size(), 4) +
           le(size, 4) + le(m.name.size(), 2) + le(extra.size(), 2) + m.name + extra + m.data;
    std::string cextra;
    uint64_t csize32 = m.data.size(), size32 = size, offset32 = offset;
    if (zip64) {
      cextra = le(1, 2) + le(24, 2) + le(size, 8) + le(m.data.size(), 8) + le(offset, 8);
      csize32 = size32 = offset32 = 0xFFFFFFFF;
    }
    cd += le(0x02014b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(m.method, 2) + le(0, 4) + le(crc, 4) +
          le(csize32, 4) + le(size32, 4) + le(m.name.size(), 2) + le(cextra.size(), 2) + le(0, 2) + le(0, 2) +
          le(0, 2) + le(0, 4) + le(offset32, 4) + m.name + cextra;
  }
  const uint64_t cd_offset = out.size(), n = members.size();
  out += cd;
  if (zip64) {
    const uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(n, 8) + le(n, 8) +
           le(cd.size(), 8) + le(cd_offset, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
    out +=
        le(0x06054b50, 4) + le(0, 4) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFFFFFF, 4) + le(0xFFFFFFFF, 4) + le(0, 2);
  } else {
    out += le(0x06054b50, 4) + le(0, 4) + le(n, 2) + le(n, 2) + le(cd.size(), 4) + le(cd_offset, 4) + le(0, 2);
  }
  return out;
}

std::string reversed_words(const std::string& bytes, size_t width) {
  std::string o = bytes;
  for (size_t i = 0; i + width <= o.size(); i += width) std::reverse(o.begin() + i, o.begin() + i + width);
  return o;
}

std::vector<Member> torch2_members() {
  return {{"archive/data.pkl", state_pickle()},
          {"archive/.format_version", "1"},
          {"archive/byteorder", "little"},
          {"archive/data/0", kStorage0},
          {"archive/data/1", kStorage1},
          {"archive/version", "3\n"},
          {"archive/.data/serialization_id", "0123456789"}};
}

}  // namespace

SSN_TEST(io_torch_golden_zip_and_legacy_backbone_agree) {
  const auto zip = ssn::read_torch_checkpoint(golden("resnet18-256x256/backbone.pth"));
  const auto legacy = ssn::read_torch_checkpoint(golden("resnet18-256x256/backbone-legacy.pth"));
  // conv1 + bn1 (1 + 5), layer1 (2 blocks x 12), layer2 and layer3 (2 x 12 + downsample 6 each).
  SSN_CHECK(zip.size() == 90);
  SSN_CHECK(legacy.size() == zip.size());
  for (const auto& [name, t] : zip) {
    SSN_CHECK_MSG(legacy.count(name) == 1, name);
    const auto& l = legacy.at(name);
    SSN_CHECK_MSG(t.scalar_type() == l.scalar_type() && t.sizes() == l.sizes() && torch::equal(t, l), name);
    SSN_CHECK_MSG(t.is_contiguous() && t.device().is_cpu(), name);
    SSN_CHECK_MSG(name.rfind("conv1.", 0) == 0 || name.rfind("bn1.", 0) == 0 || name.rfind("layer1.", 0) == 0 ||
                      name.rfind("layer2.", 0) == 0 || name.rfind("layer3.", 0) == 0,
                  name);
  }
  SSN_CHECK(zip.at("conv1.weight").sizes() == torch::IntArrayRef({64, 3, 7, 7}));
  SSN_CHECK(zip.at("layer3.0.conv1.weight").sizes() == torch::IntArrayRef({256, 128, 3, 3}));
  SSN_CHECK(zip.at("layer2.0.downsample.0.weight").sizes() == torch::IntArrayRef({128, 64, 1, 1}));
  SSN_CHECK(zip.at("layer3.1.bn2.running_var").sizes() == torch::IntArrayRef({256}));
  const auto& nbt = zip.at("layer1.0.bn1.num_batches_tracked");
  SSN_CHECK(nbt.scalar_type() == torch::kLong && nbt.dim() == 0);
  SSN_CHECK(zip.at("bn1.running_var").min().item<float>() > 0.0f);  // real statistics, not zeros
  SSN_CHECK(zip.at("conv1.weight").abs().sum().item<float>() > 0.0f);
  // Content detection picks the same readers.
  const auto any = ssn::read_any_checkpoint(golden("resnet18-256x256/backbone-legacy.pth"));
  SSN_CHECK(any.size() == 90 && torch::equal(any.at("conv1.weight"), zip.at("conv1.weight")));
}

SSN_TEST(io_torch_golden_official_heads) {
  const auto w = ssn::read_any_checkpoint(golden("resnet18-256x256/weights.pt"));
  SSN_CHECK(w.size() == 19);
  const std::set<std::string>& expected = ssn_test::official_head_keys();
  for (const auto& name : expected) SSN_CHECK_MSG(w.count(name) == 1, name);
  SSN_CHECK(w.at("feature_adaptor.projection.weight").sizes() == torch::IntArrayRef({384, 384, 1, 1}));
  SSN_CHECK(w.at("discriminator.seg.0.weight").sizes() == torch::IntArrayRef({1024, 384, 1, 1}));
  SSN_CHECK(w.at("discriminator.seg.3.weight").sizes() == torch::IntArrayRef({1, 1024, 1, 1}));
  SSN_CHECK(w.at("discriminator.dec_head.0.weight").sizes() == torch::IntArrayRef({128, 385, 5, 5}));
  SSN_CHECK(w.at("discriminator.fc_score.weight").sizes() == torch::IntArrayRef({1, 258}));
  SSN_CHECK(w.at("discriminator.seg.1.num_batches_tracked").scalar_type() == torch::kLong);
  SSN_CHECK(w.at("discriminator.dec_head.0.weight").scalar_type() == torch::kFloat);
}

SSN_TEST(io_torch_legacy_views_cuda_location_and_nesting) {
  ssn_test::TempDir dir("torch_legacy");
  const std::string path = dir.file("lightning.ckpt");
  ssn_test::write_bytes(path, legacy_checkpoint());
  const auto t = ssn::read_torch_checkpoint(path);
  check_state(t);
  // The returned tensors never share memory.
  t.at("whole").fill_(-1);
  SSN_CHECK(t.at("w").min().item<float>() == 1.0f);
  check_state(ssn::read_any_checkpoint(path));
}

SSN_TEST(io_torch_zip_layouts_aligned_zip64_big_endian) {
  ssn_test::TempDir dir("torch_zip");
  const std::string path = dir.file("model.pt");
  for (bool zip64 : {false, true}) {
    ssn_test::write_bytes(path, make_zip(torch2_members(), zip64));
    check_state(ssn::read_torch_checkpoint(path));
    check_state(ssn::read_any_checkpoint(path));
  }
  // Saved on a big-endian machine: byteorder says so and every element is byte-swapped.
  auto members = torch2_members();
  members[2].data = "big";
  members[3].data = reversed_words(kStorage0, 4);
  members[4].data = reversed_words(kStorage1, 8);
  ssn_test::write_bytes(path, make_zip(members, false));
  check_state(ssn::read_torch_checkpoint(path));
  // Repacked by a zip tool with compression: deflated members read as well.
  members = torch2_members();
  for (auto& m : members) m.method = 8;
  ssn_test::write_bytes(path, make_zip(members, false));
  check_state(ssn::read_torch_checkpoint(path));
}

SSN_TEST(io_torch_zip_archives_that_are_not_state_dicts) {
  ssn_test::TempDir dir("torch_zip_bad");
  const std::string path = dir.file("model.pt");
  auto expect = [&](const std::vector<Member>& members, const std::string& needle) {
    ssn_test::write_bytes(path, make_zip(members, false));
    const std::string err = error_of(path);
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find(needle) != std::string::npos, err);
  };
  auto members = torch2_members();
  members.push_back({"archive/constants.pkl", "\x80\x02)."});
  expect(members, "TorchScript");
  members = torch2_members();
  members.erase(members.begin() + 3);  // archive/data/0
  expect(members, "lacks storage member 'data/0'");
  members = torch2_members();
  members[4].data = "short";
  expect(members, "'data/1' of 5 bytes, expected 8");
  members = torch2_members();
  members[0].data = std::string("\x80\x02]q\x00.", 6);  // a list, not a dict
  expect(members, "expected a state_dict");
  expect({{"notes.txt", "hello"}}, "not a PyTorch checkpoint");
  expect({{"archive/notes.txt", "hello"}, {"archive/version", "3\n"}}, "without data.pkl");
}

SSN_TEST(io_torch_every_truncation_of_a_legacy_file_is_a_checkpoint_error) {
  ssn_test::TempDir dir("torch_cut");
  const std::string full = legacy_checkpoint();
  const std::string path = dir.file("cut.pth");
  for (size_t n = 0; n < full.size(); ++n) {
    ssn_test::write_bytes(path, full.substr(0, n));
    SSN_CHECK_THROWS_CODE(ssn::read_torch_checkpoint(path), ssn::ErrorCode::Checkpoint);
  }
}

SSN_TEST(io_torch_damaged_golden_files) {
  ssn_test::TempDir dir("torch_bad");
  const std::string zip = ssn_test::read_bytes(golden("resnet18-256x256/backbone.pth"));
  const std::string legacy = ssn_test::read_bytes(golden("resnet18-256x256/backbone-legacy.pth"));
  const std::string path = dir.file("bad.pth");
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::string flipped = zip;
  std::memset(&flipped[200], 0xFF, 60);  // inside data.pkl, the first member
  const Case cases[] = {
      {"zip first half", zip.substr(0, zip.size() / 2)},
      {"zip without its last byte", zip.substr(0, zip.size() - 1)},
      {"zip with a corrupt data.pkl", flipped},
      {"legacy first half", legacy.substr(0, legacy.size() / 2)},
      {"legacy without its last byte", legacy.substr(0, legacy.size() - 1)},
      {"legacy cut in the main pickle", legacy.substr(0, 3000)},
      {"empty", ""},
      {"text", "hello, I am not a checkpoint"},
      {"plain pickle", std::string("\x80\x02K\x05.", 5)},
      {"pickle of an empty dict", std::string("\x80\x02}.", 4)},
  };
  for (const auto& c : cases) {
    ssn_test::write_bytes(path, c.bytes);
    const std::string err = error_of(path);
    SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT: '" + path + "'", 0) == 0, c.what << ": " << err);
    SSN_CHECK_MSG(err.find(" | ") != std::string::npos && err.size() > err.find(" | ") + 3, c.what << ": no hint");
  }
  SSN_CHECK(error_of(dir.file("missing.pth")).rfind("ERR_SSN_IO", 0) == 0);
  SSN_CHECK(error_of(dir.path().string()).rfind("ERR_SSN_IO", 0) == 0);  // a folder
  SSN_CHECK(error_of(golden("resnet18-256x256/backbone.pth")) == "no error");
}

// libtorch's zip reader checks no CRC: ours does, so a flipped byte inside a weight is refused, not loaded.
SSN_TEST(io_torch_zip_members_are_checked_against_their_crc) {
  SSN_CHECK(ssn::crc32("123456789", 9) == 0xCBF43926u);  // the standard check value
  SSN_CHECK(ssn::crc32("", 0) == 0u);
  ssn_test::TempDir dir("torch_crc");
  const std::string path = dir.file("model.pt");
  auto members = torch2_members();
  ssn_test::write_bytes(path, make_zip(members, false));
  check_state(ssn::read_torch_checkpoint(path));
  std::string bytes = make_zip(members, false);
  const size_t at = bytes.find(kStorage0);  // the first storage's data, stored
  SSN_CHECK(at != std::string::npos);
  bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 0x10);
  ssn_test::write_bytes(path, bytes);
  const std::string err = error_of(path);
  SSN_CHECK_MSG(err.rfind("ERR_SSN_CHECKPOINT", 0) == 0 && err.find("CRC-32") != std::string::npos &&
                    err.find("data/0") != std::string::npos,
                err);
}

// A generic interpreter of Python pickles (protocols 0-5) that builds a tree of values instead of Python
// objects: nothing is imported or called, a class or function is only named (Kind::Global) and a call is
// only recorded (Kind::Object). Readers of torch checkpoints and of dataset split files give the tree its
// meaning. The VM is iterative and every read is bounds-checked; bad input throws
// ssn::Error(ErrorCode::Checkpoint) naming the source and the byte offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ssn::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind {
    None,
    Bool,
    Int,         // fits int64: `integer`
    BigInt,      // wider than int64: `text` holds its two's-complement little-endian bytes
    Float,       // `real`
    String,      // `text` in UTF-8 (Python 2 str from STRING / BINSTRING too, as torch.load reads them)
    Bytes,       // `text` raw
    List,        // `items`
    Tuple,       // `items`
    Dict,        // `entries`, in insertion order, keys unique
    Set,         // `items` (set or frozenset)
    Global,      // a class or function: `text` = module, `name` = qualified name
    Object,      // callable(*args, **kwargs) from REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ
    Persistent,  // a persistent id nobody resolved: `state` = the id
    Opaque,      // what a persistent_load callback made: `opaque`, typed by the caller
  };

  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;
  std::string name;
  std::vector<ValuePtr> items;                         // List/Tuple/Set; Object: APPENDed items
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict; Object: SETITEMed items (e.g. OrderedDict)
  ValuePtr callable, args, kwargs;                     // Object
  ValuePtr state;                                      // BUILD state of any value; Persistent: the id
  std::shared_ptr<void> opaque;                        // Opaque

  Value() = default;
  explicit Value(Kind k) : kind(k) {}
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();  // releases deep trees without recursion

  static ValuePtr make(Kind k) { return std::make_shared<Value>(k); }
  static ValuePtr none();
  static ValuePtr of_bool(bool v);
  static ValuePtr of_int(int64_t v);
  static ValuePtr of_float(double v);
  static ValuePtr of_string(std::string v);
  static ValuePtr of_bytes(std::string v);
  static ValuePtr global(std::string module, std::string name);

  bool is(Kind k) const { return kind == k; }
  bool is_global(const std::string& module, const std::string& qualname) const;
  // An Object whose callable is the global module.qualname.
  bool is_call_of(const std::string& module, const std::string& qualname) const;
  // Dict or Object entry with a string key (the last one if a key repeats); nullptr if absent.
  const ValuePtr* find(const std::string& key) const;
  // Short description for error messages: "tuple of 3", "global torch.FloatStorage", "int 5", ...
  std::string describe() const;

  // Moves every child reference into `out` (the pickle VM cuts cycles this way before it lets go).
  void move_children_to_for_release(std::vector<ValuePtr>& out) { move_children_to(out); }

 private:
  void move_children_to(std::vector<ValuePtr>& out);
};

struct LoadOptions {
  // Turns a persistent id (from PERSID / BINPERSID) into a value; without it a Kind::Persistent value holds
  // the id. The callback may throw ssn::Error to reject the id.
  std::function<ValuePtr(const ValuePtr& pid)> persistent_load;
  // Named in error messages, e.g. the file path and the member of an archive.
  std::string source = "pickle";
};

struct LoadResult {
  ValuePtr value;  // the object on the stack at STOP
  size_t end = 0;  // offset just past STOP: where a following pickle in the same stream starts
};

// Runs the pickle that starts at data[0]; bytes after STOP are left alone.
LoadResult load(const uint8_t* data, size_t size, const LoadOptions& options = {});
inline LoadResult load(const std::string& bytes, const LoadOptions& options = {}) {
  return load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
}

}  // namespace ssn::pickle

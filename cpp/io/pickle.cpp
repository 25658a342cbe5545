#include "io/pickle.h"
#include "io/utf8.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <locale>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"

namespace ssn::pickle {

// ---- Value ------------------------------------------------------------------------------------------

Value::~Value() {
  // A deep tree (a list nested a million times) would overflow the stack if every level's destructor
  // released the next one; instead the children whose last reference we hold are drained here.
  std::vector<ValuePtr> pending;
  move_children_to(pending);
  while (!pending.empty()) {
    ValuePtr v = std::move(pending.back());
    pending.pop_back();
    if (v && v.use_count() == 1) v->move_children_to(pending);
  }
}

void Value::move_children_to(std::vector<ValuePtr>& out) {
  for (auto& v : items) out.push_back(std::move(v));
  for (auto& kv : entries) {
    out.push_back(std::move(kv.first));
    out.push_back(std::move(kv.second));
  }
  items.clear();
  entries.clear();
  for (ValuePtr* p : {&callable, &args, &kwargs, &state})
    if (*p) out.push_back(std::move(*p));
}

ValuePtr Value::none() { return make(Kind::None); }

ValuePtr Value::of_bool(bool v) {
  auto p = make(Kind::Bool);
  p->boolean = v;
  return p;
}

ValuePtr Value::of_int(int64_t v) {
  auto p = make(Kind::Int);
  p->integer = v;
  return p;
}

ValuePtr Value::of_float(double v) {
  auto p = make(Kind::Float);
  p->real = v;
  return p;
}

ValuePtr Value::of_string(std::string v) {
  auto p = make(Kind::String);
  p->text = std::move(v);
  return p;
}

ValuePtr Value::of_bytes(std::string v) {
  auto p = make(Kind::Bytes);
  p->text = std::move(v);
  return p;
}

ValuePtr Value::global(std::string module, std::string name) {
  auto p = make(Kind::Global);
  p->text = std::move(module);
  p->name = std::move(name);
  return p;
}

bool Value::is_global(const std::string& module, const std::string& qualname) const {
  return kind == Kind::Global && text == module && name == qualname;
}

bool Value::is_call_of(const std::string& module, const std::string& qualname) const {
  return kind == Kind::Object && callable && callable->is_global(module, qualname);
}

const ValuePtr* Value::find(const std::string& key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first && it->first->kind == Kind::String && it->first->text == key) return &it->second;
  return nullptr;
}

std::string Value::describe() const {
  auto clip = [](const std::string& s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; };
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return boolean ? "True" : "False";
    case Kind::Int:
      return "int " + std::to_string(integer);
    case Kind::BigInt:
      return "int of " + std::to_string(text.size()) + " bytes";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str '" + clip(text) + "'";
    case Kind::Bytes:
      return "bytes of length " + std::to_string(text.size());
    case Kind::List:
      return "list of " + std::to_string(items.size());
    case Kind::Tuple:
      return "tuple of " + std::to_string(items.size());
    case Kind::Dict:
      return "dict of " + std::to_string(entries.size());
    case Kind::Set:
      return "set of " + std::to_string(items.size());
    case Kind::Global:
      return "global " + text + "." + name;
    case Kind::Object:
      if (callable && callable->kind == Kind::Global)
        return "object " + callable->text + "." + callable->name + "(...)";
      return "object";
    case Kind::Persistent:
      return "persistent id";
    case Kind::Opaque:
      return "persistent object";
  }
  return "value";
}

// ---- the machine ------------------------------------------------------------------------------------

namespace {

constexpr int kHighestProtocol = 5;
constexpr size_t kMaxDecimalDigits = 1000;  // wider integers in text form are refused (quadratic conversion)
// Values pushed and memo entries, over one pickle: a state_dict of the widest backbone needs tens of thousands;
// a flood of DUP or MEMOIZE opcodes (one byte each) would otherwise cost ~50 bytes of memory per input byte.
constexpr uint64_t kMaxPushes = uint64_t{1} << 20;
constexpr size_t kMaxMemo = size_t{1} << 18;

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 0x80:
      return "PROTO";
    case 0x95:
      return "FRAME";
    case '.':
      return "STOP";
    case '(':
      return "MARK";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'N':
      return "NONE";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 'I':
      return "INT";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 'L':
      return "LONG";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'F':
      return "FLOAT";
    case 'G':
      return "BINFLOAT";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'X':
      return "BINUNICODE";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x8e:
      return "BINBYTES8";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    case ']':
      return "EMPTY_LIST";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 'l':
      return "LIST";
    case ')':
      return "EMPTY_TUPLE";
    case 't':
      return "TUPLE";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case '}':
      return "EMPTY_DICT";
    case 'd':
      return "DICT";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 'c':
      return "GLOBAL";
    case 0x93:
      return "STACK_GLOBAL";
    case 'R':
      return "REDUCE";
    case 'b':
      return "BUILD";
    case 0x81:
      return "NEWOBJ";
    case 0x92:
      return "NEWOBJ_EX";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 'p':
      return "PUT";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 0x94:
      return "MEMOIZE";
    case 'g':
      return "GET";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 'P':
      return "PERSID";
    case 'Q':
      return "BINPERSID";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    default:
      return nullptr;
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Two's-complement little-endian bytes -> Int when it fits in int64, else BigInt (minimal bytes).
ValuePtr int_from_le_bytes(std::string bytes) {
  if (bytes.empty()) return Value::of_int(0);
  const bool negative = (static_cast<uint8_t>(bytes.back()) & 0x80) != 0;
  const char fill = negative ? '\xff' : '\x00';
  // Drop redundant sign bytes so that equal numbers have equal bytes.
  while (bytes.size() > 1 && bytes.back() == fill &&
         ((static_cast<uint8_t>(bytes[bytes.size() - 2]) & 0x80) != 0) == negative)
    bytes.pop_back();
  if (bytes.size() <= 8) {
    uint64_t u = negative ? ~uint64_t(0) : 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      u &= ~(uint64_t(0xFF) << (8 * i));
      u |= uint64_t(static_cast<uint8_t>(bytes[i])) << (8 * i);
    }
    return Value::of_int(static_cast<int64_t>(u));
  }
  auto v = Value::make(Value::Kind::BigInt);
  v->text = std::move(bytes);
  return v;
}

// A table of which dict keys are already present, so that SETITEM replaces like Python does.
// Only keys whose equality is plain (numbers, strings, bytes, None, globals and tuples of them) are
// indexed; other keys are simply appended.
std::optional<std::string> key_of(const Value& v, int depth = 0) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::None:
      return std::string("n");
    case K::Bool:
      return "i" + std::to_string(v.boolean ? 1 : 0);  // True == 1 in Python
    case K::Int:
      return "i" + std::to_string(v.integer);
    case K::BigInt:
      return "I" + v.text;
    case K::Float:
      if (v.real == std::floor(v.real) && std::fabs(v.real) < 9.2e18)
        return "i" + std::to_string(static_cast<int64_t>(v.real));
      {
        uint64_t bits;
        std::memcpy(&bits, &v.real, 8);
        return "f" + std::to_string(bits);
      }
    case K::String:
      return "s" + v.text;
    case K::Bytes:
      return "b" + v.text;
    case K::Global:
      return "g" + v.text + '\0' + v.name;
    case K::Tuple: {
      if (depth > 8) return std::nullopt;
      std::string k = "t" + std::to_string(v.items.size());
      for (const auto& item : v.items) {
        if (!item) return std::nullopt;
        auto sub = key_of(*item, depth + 1);
        if (!sub) return std::nullopt;
        k += ':' + std::to_string(sub->size()) + ':' + *sub;
      }
      return k;
    }
    default:
      return std::nullopt;
  }
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const LoadOptions& options) : d_(data), n_(size), options_(options) {}

  // A pickle can make cycles (a list appended to itself through the memo), which shared pointers never free:
  // whatever the outcome, the edges of every value not in the result are cut, and a cyclic result is refused.
  ~Machine() {
    std::vector<ValuePtr> edges;
    for (const auto& weak : pushed_) {
      ValuePtr v = weak.lock();
      if (v && !kept_.count(v.get())) v->move_children_to_for_release(edges);
    }
    stack_.clear();
    memo_.clear();
    metastack_.clear();
  }

  LoadResult run() {
    if (n_ == 0) fail_at(0, "empty input, expected a pickle");
    for (;;) {
      op_pos_ = pos_;
      if (pos_ >= n_) fail_at(pos_, "truncated: the pickle ends without STOP");
      op_ = d_[pos_++];
      if (op_ == '.') {
        ValuePtr result = pop();
        keep_acyclic(result);
        return {result, pos_};
      }
      step();
    }
  }

 private:
  using K = Value::Kind;

  static constexpr const char* kHint = "The file is damaged or truncated, or it is not a Python pickle. Re-create it.";

  [[noreturn]] void fail_at(size_t offset, const std::string& what) const {
    throw Error(ErrorCode::Checkpoint, options_.source + ": " + what + " at offset " + std::to_string(offset), kHint);
  }
  // "<source>: BINUNICODE at offset 134: truncated, ..."
  [[noreturn]] void fail(const std::string& what) const {
    const char* name = opcode_name(op_);
    throw Error(
        ErrorCode::Checkpoint,
        options_.source + ": " + (name ? name : "opcode") + " at offset " + std::to_string(op_pos_) + ": " + what,
        kHint);
  }

  // ---- input -----------------------------------------------------------------------------------------
  const uint8_t* take(uint64_t count) {
    if (count > n_ - pos_)
      fail("truncated, needs " + std::to_string(count) + " bytes but " + std::to_string(n_ - pos_) + " are left");
    const uint8_t* p = d_ + pos_;
    pos_ += static_cast<size_t>(count);
    return p;
  }
  uint64_t read_le(int bytes) {
    const uint8_t* p = take(bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string read_string(uint64_t count) {
    const uint8_t* p = take(count);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(count));
  }
  // Text-mode argument up to '\n' (a trailing '\r' from Windows line ends is dropped).
  std::string read_line() {
    const void* nl = std::memchr(d_ + pos_, '\n', n_ - pos_);
    if (!nl) fail("truncated, its text argument has no end of line");
    size_t end = static_cast<const uint8_t*>(nl) - d_;
    std::string line(reinterpret_cast<const char*>(d_ + pos_), end - pos_);
    pos_ = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }

  // ---- stack -----------------------------------------------------------------------------------------
  void push(ValuePtr v) {
    if (++pushes_ > kMaxPushes)
      fail("more than " + std::to_string(kMaxPushes) + " values pushed: not a checkpoint (a flood of opcodes?)");
    if (v) pushed_.push_back(v);
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    if (stack_.empty()) fail("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  // Like Python's Unpickler: MARK saves the current stack; the items since then are handed back.
  std::vector<ValuePtr> pop_mark() {
    if (metastack_.empty()) fail("no MARK on the stack");
    std::vector<ValuePtr> items = std::move(stack_);
    stack_ = std::move(metastack_.back());
    metastack_.pop_back();
    return items;
  }

  // ---- parsing of text arguments --------------------------------------------------------------------
  ValuePtr parse_decimal(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    if (i >= s.size()) fail("expected an integer, got '" + s + "'");
    if (s.size() - i > kMaxDecimalDigits)
      fail("integer literal longer than " + std::to_string(kMaxDecimalDigits) + " digits");
    // Magnitude in little-endian base 256, grown digit by digit.
    std::string mag;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') fail("expected an integer, got '" + s + "'");
      unsigned carry = static_cast<unsigned>(s[i] - '0');
      for (char& byte : mag) {
        unsigned x = static_cast<uint8_t>(byte) * 10u + carry;
        byte = static_cast<char>(x & 0xFF);
        carry = x >> 8;
      }
      while (carry) {
        mag += static_cast<char>(carry & 0xFF);
        carry >>= 8;
      }
    }
    mag += '\0';  // room for the sign bit
    if (negative) {
      unsigned carry = 1;
      for (char& byte : mag) {
        unsigned x = static_cast<uint8_t>(~static_cast<uint8_t>(byte)) + carry;
        byte = static_cast<char>(x & 0xFF);
        carry = x >> 8;
      }
    }
    return int_from_le_bytes(std::move(mag));
  }

  uint64_t parse_index(const std::string& s) {
    ValuePtr v = parse_decimal(s);
    if (v->kind != K::Int || v->integer < 0) fail("expected a memo index, got '" + s + "'");
    return static_cast<uint64_t>(v->integer);
  }

  double parse_float(const std::string& s) {
    if (s == "inf" || s == "+inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan" || s == "-nan") return std::numeric_limits<double>::quiet_NaN();
    std::istringstream is(s);
    is.imbue(std::locale::classic());
    double v = 0;
    is >> v;
    if (is.fail() || !(is >> std::ws).eof()) fail("expected a float, got '" + s + "'");
    return v;
  }

  // STRING's argument is a Python 2 repr: quoted, with backslash escapes.
  std::string parse_quoted(const std::string& s) {
    if (s.size() < 2 || (s[0] != '\'' && s[0] != '"') || s.back() != s[0]) fail("expected a quoted string");
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      char c = s[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i + 2 >= s.size()) fail("dangling backslash in string");
      char e = s[++i];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
        case '\'':
        case '"':
          out += e;
          break;
        case 'x': {
          int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
          int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
          if (hi < 0 || lo < 0) fail("invalid \\x escape in string");
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && i + 2 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
              v = v * 8 + (s[++i] - '0');
            out += static_cast<char>(v & 0xFF);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }

  // UNICODE's argument is raw-unicode-escape: Latin-1 bytes plus \uXXXX and \UXXXXXXXX.
  std::string parse_raw_unicode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
        const size_t width = s[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + width > s.size()) fail("truncated \\u escape");
        uint32_t cp = 0;
        for (size_t k = 0; k < width; ++k) {
          int h = hex_digit(s[i + 2 + k]);
          if (h < 0) fail("invalid \\u escape");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp > 0x10FFFF) fail("code point out of range");
        append_utf8(out, cp);
        i += 1 + width;
      } else {
        append_utf8(out, c);
      }
    }
    return out;
  }

  // ---- containers ------------------------------------------------------------------------------------
  void set_item(const ValuePtr& target, ValuePtr key, ValuePtr value) {
    if (!target || (target->kind != K::Dict && target->kind != K::Object))
      fail("cannot set an item on " + (target ? target->describe() : std::string("nothing")));
    std::optional<std::string> k = key ? key_of(*key) : std::nullopt;
    if (k) {
      auto& idx = index_[target.get()];
      if (!idx.owner) {
        idx.owner = target;
        for (size_t i = 0; i < target->entries.size(); ++i)
          if (auto ek = key_of(*target->entries[i].first)) idx.at[*ek] = i;
      }
      auto it = idx.at.find(*k);
      if (it != idx.at.end()) {
        target->entries[it->second].second = std::move(value);
        return;
      }
      idx.at.emplace(std::move(*k), target->entries.size());
    }
    target->entries.emplace_back(std::move(key), std::move(value));
  }

  void set_items(const ValuePtr& target, std::vector<ValuePtr> flat) {
    if (flat.size() % 2 != 0) fail("odd number of items for a dict");
    for (size_t i = 0; i < flat.size(); i += 2) set_item(target, std::move(flat[i]), std::move(flat[i + 1]));
  }

  void append_items(const ValuePtr& target, std::vector<ValuePtr> values, bool to_set) {
    const bool ok =
        target && (to_set ? target->kind == K::Set : (target->kind == K::List || target->kind == K::Object));
    if (!ok) fail("cannot add items to " + (target ? target->describe() : std::string("nothing")));
    for (auto& v : values) target->items.push_back(std::move(v));
  }

  ValuePtr sequence(K kind, std::vector<ValuePtr> items) {
    auto v = Value::make(kind);
    v->items = std::move(items);
    return v;
  }

  ValuePtr make_global(std::string module, std::string name) {
    // Protocol 0-2 pickles written by Python 3 use Python 2 module names.
    if (module == "__builtin__")
      module = "builtins";
    else if (module == "copy_reg")
      module = "copyreg";
    return Value::global(std::move(module), std::move(name));
  }

  ValuePtr make_object(ValuePtr callable, ValuePtr args, ValuePtr kwargs = nullptr) {
    auto v = Value::make(K::Object);
    v->callable = std::move(callable);
    v->args = std::move(args);
    v->kwargs = std::move(kwargs);
    return v;
  }

  ValuePtr persistent(ValuePtr pid) {
    if (options_.persistent_load) {
      ValuePtr v = options_.persistent_load(pid);
      if (!v) fail("persistent_load returned nothing");
      return v;
    }
    auto v = Value::make(K::Persistent);
    v->state = std::move(pid);
    return v;
  }

  void memo_put(uint64_t key) {
    if (memo_.size() >= kMaxMemo && memo_.count(key) == 0)
      fail("more than " + std::to_string(kMaxMemo) + " memo entries: not a checkpoint");
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  // ---- one opcode ------------------------------------------------------------------------------------
  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        uint64_t proto = read_le(1);
        if (proto > kHighestProtocol) fail("unsupported protocol " + std::to_string(proto));
        break;
      }
      case 0x95:
        read_le(8);
        break;  // FRAME: only a read-ahead hint
      case '(':
        metastack_.push_back(std::move(stack_));
        stack_.clear();
        break;
      case '0':
        if (!stack_.empty()) {
          stack_.pop_back();
        } else {
          pop_mark();  // as in Python, POP on an empty frame discards the mark
        }
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        push(top());
        break;
      case 'N':
        push(Value::none());
        break;
      case 0x88:
        push(Value::of_bool(true));
        break;
      case 0x89:
        push(Value::of_bool(false));
        break;

      case 'I': {
        std::string s = read_line();
        if (s == "00")
          push(Value::of_bool(false));
        else if (s == "01")
          push(Value::of_bool(true));
        else
          push(parse_decimal(s));
        break;
      }
      case 'J':
        push(Value::of_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4)))));
        break;
      case 'K':
        push(Value::of_int(static_cast<int64_t>(read_le(1))));
        break;
      case 'M':
        push(Value::of_int(static_cast<int64_t>(read_le(2))));
        break;
      case 'L': {
        std::string s = read_line();
        if (!s.empty() && s.back() == 'L') s.pop_back();
        push(parse_decimal(s));
        break;
      }
      case 0x8a:
        push(int_from_le_bytes(read_string(read_le(1))));
        break;
      case 0x8b: {
        int32_t len = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
        if (len < 0) fail("negative length");
        push(int_from_le_bytes(read_string(static_cast<uint64_t>(len))));
        break;
      }
      case 'F':
        push(Value::of_float(parse_float(read_line())));
        break;
      case 'G': {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
        double v;
        std::memcpy(&v, &bits, 8);
        push(Value::of_float(v));
        break;
      }

      case 'S':
        push(Value::of_string(parse_quoted(read_line())));
        break;
      case 'T': {
        int32_t len = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
        if (len < 0) fail("negative length");
        push(Value::of_string(read_string(static_cast<uint64_t>(len))));
        break;
      }
      case 'U':
        push(Value::of_string(read_string(read_le(1))));
        break;
      case 'V':
        push(Value::of_string(parse_raw_unicode(read_line())));
        break;
      case 'X':
        push(Value::of_string(read_string(read_le(4))));
        break;
      case 0x8c:
        push(Value::of_string(read_string(read_le(1))));
        break;
      case 0x8d:
        push(Value::of_string(read_string(read_le(8))));
        break;
      case 'B':
        push(Value::of_bytes(read_string(read_le(4))));
        break;
      case 'C':
        push(Value::of_bytes(read_string(read_le(1))));
        break;
      case 0x8e:
        push(Value::of_bytes(read_string(read_le(8))));
        break;
      case 0x96:
        push(Value::of_bytes(read_string(read_le(8))));
        break;
      case 0x97:
        fail("out-of-band buffers are not supported");
      case 0x98:
        top();
        break;  // READONLY_BUFFER: read-only flag, nothing to do for a copy

      case ']':
        push(Value::make(K::List));
        break;
      case 'a': {
        ValuePtr v = pop();
        append_items(top(), {std::move(v)}, false);
        break;
      }
      case 'e': {
        auto items = pop_mark();
        append_items(top(), std::move(items), false);
        break;
      }
      case 'l':
        push(sequence(K::List, pop_mark()));
        break;
      case ')':
        push(Value::make(K::Tuple));
        break;
      case 't':
        push(sequence(K::Tuple, pop_mark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t count = static_cast<size_t>(op_ - 0x84);
        if (stack_.size() < count) fail("stack underflow");
        std::vector<ValuePtr> items(std::make_move_iterator(stack_.end() - count),
                                    std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - count);
        push(sequence(K::Tuple, std::move(items)));
        break;
      }
      case '}':
        push(Value::make(K::Dict));
        break;
      case 'd': {
        auto flat = pop_mark();
        ValuePtr dict = Value::make(K::Dict);
        set_items(dict, std::move(flat));
        push(std::move(dict));
        break;
      }
      case 's': {
        ValuePtr value = pop();
        ValuePtr key = pop();
        set_item(top(), std::move(key), std::move(value));
        break;
      }
      case 'u': {
        auto flat = pop_mark();
        set_items(top(), std::move(flat));
        break;
      }
      case 0x8f:
        push(Value::make(K::Set));
        break;
      case 0x90: {
        auto items = pop_mark();
        append_items(top(), std::move(items), true);
        break;
      }
      case 0x91:
        push(sequence(K::Set, pop_mark()));
        break;

      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        push(make_global(std::move(module), std::move(name)));
        break;
      }
      case 0x93: {
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (name->kind != K::String || module->kind != K::String) fail("module and name must be strings");
        push(make_global(module->text, name->text));
        break;
      }
      case 'R': {
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(make_object(std::move(callable), std::move(args)));
        break;
      }
      case 'b': {
        ValuePtr state = pop();
        top()->state = std::move(state);
        break;
      }
      case 0x81: {
        ValuePtr args = pop();
        ValuePtr cls = pop();
        push(make_object(std::move(cls), std::move(args)));
        break;
      }
      case 0x92: {
        ValuePtr kwargs = pop();
        ValuePtr args = pop();
        ValuePtr cls = pop();
        push(make_object(std::move(cls), std::move(args), std::move(kwargs)));
        break;
      }
      case 'i': {
        std::string module = read_line();
        std::string name = read_line();
        auto args = pop_mark();
        push(make_object(make_global(std::move(module), std::move(name)), sequence(K::Tuple, std::move(args))));
        break;
      }
      case 'o': {
        auto items = pop_mark();
        if (items.empty()) fail("no class given");
        ValuePtr cls = std::move(items.front());
        items.erase(items.begin());
        push(make_object(std::move(cls), sequence(K::Tuple, std::move(items))));
        break;
      }

      case 'p':
        memo_put(parse_index(read_line()));
        break;
      case 'q':
        memo_put(read_le(1));
        break;
      case 'r':
        memo_put(read_le(4));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;
      case 'g':
        memo_get(parse_index(read_line()));
        break;
      case 'h':
        memo_get(read_le(1));
        break;
      case 'j':
        memo_get(read_le(4));
        break;

      case 'P':
        push(persistent(Value::of_string(read_line())));
        break;
      case 'Q':
        push(persistent(pop()));
        break;

      case 0x82:
      case 0x83:
      case 0x84:
        fail("extension registry codes are not supported");
      default: {
        static const char* hex = "0123456789abcdef";
        std::string code = std::string("0x") + hex[op_ >> 4] + hex[op_ & 0xF];
        if (op_ >= 0x20 && op_ < 0x7f) code += std::string(" ('") + static_cast<char>(op_) + "')";
        fail_at(op_pos_, "unknown opcode " + code);
      }
    }
  }

  struct DictIndex {
    ValuePtr owner;  // keeps the dict alive so that its address stays unique during the load
    std::unordered_map<std::string, size_t> at;
  };

  const uint8_t* d_;
  size_t n_;
  const LoadOptions& options_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::vector<ValuePtr>> metastack_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  uint64_t pushes_ = 0;
  std::unordered_map<const Value*, DictIndex> index_;
  std::vector<std::weak_ptr<Value>> pushed_;  // every value that was on the stack, for the destructor
  std::unordered_set<const Value*> kept_;     // the result's values, left whole

  // Marks every value reachable from `root` as kept; throws if the graph has a cycle (an iterative DFS:
  // shared references are fine, a value reaching itself is not).
  void keep_acyclic(const ValuePtr& root) {
    if (!root) return;
    enum class Mark { Open, Done };
    struct Frame {
      const Value* value;
      std::vector<const Value*> children;
      size_t next = 0;
    };
    auto frame_of = [](const Value* v) {
      Frame f{v, {}};
      for (const auto& c : v->items) f.children.push_back(c.get());
      for (const auto& kv : v->entries) f.children.push_back(kv.first.get()), f.children.push_back(kv.second.get());
      for (const ValuePtr* p : {&v->callable, &v->args, &v->kwargs, &v->state}) f.children.push_back(p->get());
      return f;
    };
    std::unordered_map<const Value*, Mark> mark{{root.get(), Mark::Open}};
    std::vector<Frame> path{frame_of(root.get())};
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.next >= f.children.size()) {
        mark[f.value] = Mark::Done;
        kept_.insert(f.value);
        path.pop_back();
        continue;
      }
      const Value* c = f.children[f.next++];
      if (!c) continue;
      const auto it = mark.find(c);
      if (it == mark.end()) {
        mark.emplace(c, Mark::Open);
        path.push_back(frame_of(c));
      } else if (it->second == Mark::Open) {
        kept_.clear();
        fail("the pickled object refers to itself (a cycle): not a checkpoint");
      }
    }
  }
};

}  // namespace

LoadResult load(const uint8_t* data, size_t size, const LoadOptions& options) {
  return Machine(data, size, options).run();
}

}  // namespace ssn::pickle

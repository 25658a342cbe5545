// The pickle VM on hand-assembled pickles (each checked against Python's pickle.loads when written).
#include <string>

#include "common/error.h"
#include "io/pickle.h"
#include "test_framework.h"

using ssn::pickle::Value;
using ssn::pickle::ValuePtr;
using Kind = ssn::pickle::Value::Kind;

namespace {

std::string bytes(const char* data, size_t size) { return std::string(data, size); }
#define PICKLE(lit) bytes(lit, sizeof(lit) - 1)

// {'a': 7, 'b': [2, -2, 256, True, False, None, 1.5], 'c': <memo of b>, 'd': (1, 'é'), 'e': 2**64,
//  'f': -1, 'g': 'abc', 'a': 8}  -- protocol 2, BINPUT/BINGET, SETITEMS with a repeated key.
const std::string kProtocol2 = PICKLE(
    "\x80\x02"
    "}q\x00("
    "X\x01\x00\x00\x00"
    "aK\x07"
    "X\x01\x00\x00\x00"
    "b]q\x01(K\x02J\xfe\xff\xff\xffM\x00\x01\x88\x89NG\x3f\xf8\x00\x00\x00\x00\x00\x00"
    "e"
    "X\x01\x00\x00\x00"
    "ch\x01"
    "X\x01\x00\x00\x00"
    "dK\x01X\x02\x00\x00\x00\xc3\xa9\x86"
    "X\x01\x00\x00\x00"
    "e\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"
    "X\x01\x00\x00\x00"
    "f\x8a\x01\xff"
    "X\x01\x00\x00\x00"
    "gU\x03"
    "abc"
    "X\x01\x00\x00\x00"
    "aK\x08"
    "u.");

// OrderedDict(w=b'\x01\x02', x={1, 2}, y=frozenset({3}), z=('hi',), v='x') with state {'_metadata': {}}
// -- protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, REDUCE, sets, BINUNICODE8, BUILD.
const std::string kProtocol4 = PICKLE(
    "\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x8c\x0b"
    "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94("
    "\x8c\x01w\x94"
    "C\x02\x01\x02"
    "\x8c\x01x\x94\x8f\x94(K\x01K\x02\x90"
    "\x8c\x01y\x94(K\x03\x91"
    "\x8c\x01z\x94\x8d\x02\x00\x00\x00\x00\x00\x00\x00hi\x85\x94"
    "\x8c\x01v\x94h\x05"
    "u}\x94\x8c\x09_metadata\x94}\x94sb.");

// [True, -5, 123456789012345678901234567890, 1.25, "it's", 'café€', <memo: "it's">, builtins.set, (1, 2)]
// -- protocol 0 text opcodes.
const std::string kProtocol0 = PICKLE(
    "(lp0\nI01\naI-5\naL123456789012345678901234567890L\naF1.25\naS'it\\'s'\np1\n"
    "aVcaf\xe9\\u20ac\np2\nag1\nac__builtin__\nset\np3\na(I1\nI2\ntp4\na.");

const ValuePtr& entry(const ValuePtr& dict, const std::string& key) {
  const ValuePtr* v = dict->find(key);
  SSN_CHECK_MSG(v != nullptr, "missing key " + key);
  return *v;
}

}  // namespace

SSN_TEST(io_pickle_protocol2_containers_memo_and_ints) {
  auto r = ssn::pickle::load(kProtocol2);
  SSN_CHECK(r.end == kProtocol2.size());
  const ValuePtr& d = r.value;
  SSN_CHECK(d->kind == Kind::Dict);
  SSN_CHECK(d->entries.size() == 7);  // 'a' appears twice but is one key
  SSN_CHECK(d->entries[0].first->text == "a");
  SSN_CHECK(entry(d, "a")->integer == 8);
  const ValuePtr& b = entry(d, "b");
  SSN_CHECK(b->kind == Kind::List && b->items.size() == 7);
  SSN_CHECK(b->items[0]->integer == 2);
  SSN_CHECK(b->items[1]->integer == -2);
  SSN_CHECK(b->items[2]->integer == 256);
  SSN_CHECK(b->items[3]->kind == Kind::Bool && b->items[3]->boolean);
  SSN_CHECK(b->items[4]->kind == Kind::Bool && !b->items[4]->boolean);
  SSN_CHECK(b->items[5]->kind == Kind::None);
  SSN_CHECK(b->items[6]->kind == Kind::Float && b->items[6]->real == 1.5);
  SSN_CHECK(entry(d, "c") == b);  // the memo gives back the very same list
  const ValuePtr& t = entry(d, "d");
  SSN_CHECK(t->kind == Kind::Tuple && t->items.size() == 2);
  SSN_CHECK(t->items[1]->text == "\xc3\xa9");
  const ValuePtr& big = entry(d, "e");
  SSN_CHECK(big->kind == Kind::BigInt);
  SSN_CHECK(big->text == std::string("\x00\x00\x00\x00\x00\x00\x00\x00\x01", 9));
  SSN_CHECK(entry(d, "f")->kind == Kind::Int && entry(d, "f")->integer == -1);
  SSN_CHECK(entry(d, "g")->kind == Kind::String && entry(d, "g")->text == "abc");
}

SSN_TEST(io_pickle_protocol4_ordered_dict_sets_build) {
  const ValuePtr v = ssn::pickle::load(kProtocol4).value;
  SSN_CHECK(v->is_call_of("collections", "OrderedDict"));
  SSN_CHECK(v->args->kind == Kind::Tuple && v->args->items.empty());
  SSN_CHECK(v->entries.size() == 5);
  const char* order[] = {"w", "x", "y", "z", "v"};
  for (size_t i = 0; i < 5; ++i) SSN_CHECK(v->entries[i].first->text == order[i]);
  SSN_CHECK(entry(v, "w")->kind == Kind::Bytes && entry(v, "w")->text == std::string("\x01\x02"));
  SSN_CHECK(entry(v, "x")->kind == Kind::Set && entry(v, "x")->items.size() == 2);
  SSN_CHECK(entry(v, "y")->kind == Kind::Set && entry(v, "y")->items[0]->integer == 3);
  SSN_CHECK(entry(v, "z")->kind == Kind::Tuple && entry(v, "z")->items[0]->text == "hi");
  SSN_CHECK(entry(v, "v")->kind == Kind::String && entry(v, "v")->text == "x");  // MEMOIZE numbering
  SSN_CHECK(v->state && v->state->kind == Kind::Dict);
  SSN_CHECK(entry(v->state, "_metadata")->kind == Kind::Dict);
}

SSN_TEST(io_pickle_protocol0_text_opcodes) {
  const ValuePtr v = ssn::pickle::load(kProtocol0).value;
  SSN_CHECK(v->kind == Kind::List && v->items.size() == 9);
  SSN_CHECK(v->items[0]->kind == Kind::Bool && v->items[0]->boolean);
  SSN_CHECK(v->items[1]->integer == -5);
  SSN_CHECK(v->items[2]->kind == Kind::BigInt);
  SSN_CHECK(v->items[2]->text == std::string("\xd2\x0a\x3f\x4e\xee\xe0\x73\xc3\xf6\x0f\xe9\x8e\x01", 13));
  SSN_CHECK(v->items[3]->real == 1.25);
  SSN_CHECK(v->items[4]->text == "it's");
  SSN_CHECK(v->items[5]->text == "caf\xc3\xa9\xe2\x82\xac");  // Latin-1 é and \u20ac, now UTF-8
  SSN_CHECK(v->items[6] == v->items[4]);
  SSN_CHECK(v->items[7]->is_global("builtins", "set"));  // Python 2 module name mapped
  SSN_CHECK(v->items[8]->kind == Kind::Tuple && v->items[8]->items[1]->integer == 2);
}

SSN_TEST(io_pickle_stack_ops_and_persistent_ids) {
  // MARK 1 2 POP_MARK, 3 DUP POP, ('storage', 5) BINPERSID -> (3, <pid>) ; then STOP
  const std::string p = PICKLE(
      "\x80\x02(K\x01K\x02"
      "1"
      "K\x03"
      "2"
      "0"
      "X\x07\x00\x00\x00storageK\x05\x86Q\x86.");
  const ValuePtr plain = ssn::pickle::load(p).value;
  SSN_CHECK(plain->kind == Kind::Tuple && plain->items.size() == 2);
  SSN_CHECK(plain->items[0]->integer == 3);
  SSN_CHECK(plain->items[1]->kind == Kind::Persistent);
  SSN_CHECK(plain->items[1]->state->items[0]->text == "storage");

  ssn::pickle::LoadOptions options;
  int calls = 0;
  options.persistent_load = [&](const ValuePtr& pid) {
    ++calls;
    SSN_CHECK(pid->kind == Kind::Tuple && pid->items[1]->integer == 5);
    auto v = Value::make(Kind::Opaque);
    v->opaque = std::make_shared<int>(42);
    return v;
  };
  const ValuePtr resolved = ssn::pickle::load(p, options).value;
  SSN_CHECK(calls == 1);
  SSN_CHECK(resolved->items[1]->kind == Kind::Opaque);
  SSN_CHECK(*std::static_pointer_cast<int>(resolved->items[1]->opaque) == 42);
}

SSN_TEST(io_pickle_end_offset_allows_consecutive_pickles) {
  const std::string two = PICKLE("\x80\x02K\x01.\x80\x02K\x02.");
  auto first = ssn::pickle::load(two);
  SSN_CHECK(first.end == 5 && first.value->integer == 1);
  auto second = ssn::pickle::load(reinterpret_cast<const uint8_t*>(two.data()) + first.end, two.size() - first.end);
  SSN_CHECK(second.value->integer == 2);
}

SSN_TEST(io_pickle_every_truncation_throws_checkpoint) {
  for (const std::string* full : {&kProtocol2, &kProtocol4, &kProtocol0}) {
    for (size_t n = 0; n < full->size(); ++n) {
      SSN_CHECK_THROWS_CODE(ssn::pickle::load(full->substr(0, n)), ssn::ErrorCode::Checkpoint);
    }
  }
  try {
    ssn::pickle::load(kProtocol2.substr(0, 80));  // inside LONG1's payload
    SSN_CHECK(false);
  } catch (const ssn::Error& e) {
    const std::string msg = e.what();
    SSN_CHECK_MSG(msg.find("LONG1") != std::string::npos && msg.find("at offset 77") != std::string::npos, msg);
  }
}

SSN_TEST(io_pickle_corrupt_input_is_named) {
  try {
    ssn::pickle::load(PICKLE("\x80\x02K\x01\xff."));
    SSN_CHECK(false);
  } catch (const ssn::Error& e) {
    const std::string msg = e.what();
    SSN_CHECK(e.code() == ssn::ErrorCode::Checkpoint);
    SSN_CHECK_MSG(msg.find("unknown opcode 0xff") != std::string::npos && msg.find("offset 4") != std::string::npos,
                  msg);
  }
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x09N.")), ssn::ErrorCode::Checkpoint);      // protocol 9
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02h\x05.")), ssn::ErrorCode::Checkpoint);  // memo miss
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02"
                                                 "a.")),
                        ssn::ErrorCode::Checkpoint);  // underflow
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02K\x01"
                                                 "e.")),
                        ssn::ErrorCode::Checkpoint);  // no mark
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02K\x01K\x02s.")),
                        ssn::ErrorCode::Checkpoint);  // setitem on int
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02X\xff\xff\xff\x7f"
                                                 "abc.")),
                        ssn::ErrorCode::Checkpoint);
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x05\x8e\xff\xff\xff\xff\xff\xff\xff\xff.")),
                        ssn::ErrorCode::Checkpoint);
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(std::string()), ssn::ErrorCode::Checkpoint);
}

SSN_TEST(io_pickle_deep_nesting_neither_recurses_nor_crashes) {
  // 200000 MARKs then 200000 LISTs: a list nested 200000 deep, built and released without recursion.
  const size_t depth = 200000;
  std::string p = "\x80\x02";
  p.append(depth, '(');
  p.append(depth, 'l');
  p += '.';
  ValuePtr v = ssn::pickle::load(p).value;
  size_t levels = 0;
  for (const Value* cur = v.get(); cur && cur->kind == Kind::List;
       cur = cur->items.empty() ? nullptr : cur->items[0].get())
    ++levels;
  SSN_CHECK(levels == depth);
  v.reset();  // would overflow the stack with a recursive destructor
}

// A flood of one-byte opcodes that each add a value (DUP) or a memo entry (MEMOIZE) is refused long before it
// costs memory: a checkpoint never needs millions of them.
SSN_TEST(io_pickle_dup_and_memo_floods_are_refused) {
  std::string dup = "\x80\x02K\x01";
  dup.append(size_t{2} << 20, '2');  // DUP
  dup += '.';
  const auto message_of = [](const std::string& pickle) -> std::string {
    try {
      ssn::pickle::load(pickle);
    } catch (const ssn::Error& e) {
      return e.code() == ssn::ErrorCode::Checkpoint ? e.what() : "wrong code";
    }
    return "no error";
  };
  SSN_CHECK_MSG(message_of(dup).find("values pushed") != std::string::npos, message_of(dup));
  std::string memo = "\x80\x04K\x01";
  memo.append(size_t{1} << 20, '\x94');  // MEMOIZE
  memo += '.';
  SSN_CHECK_MSG(message_of(memo).find("memo entries") != std::string::npos, message_of(memo));
}

SSN_TEST(io_pickle_object_construction_opcodes) {
  // [complex(1.0, 2.0) via NEWOBJ, int('10', base=2) via NEWOBJ_EX, LONG_BINPUT/LONG_BINGET 1000 of it,
  //  -32768 via LONG4, bytearray(b'abc') via BYTEARRAY8]  -- protocol 5
  const std::string p5 = PICKLE(
      "\x80\x05]("
      "\x8c\x08"
      "builtins\x8c\x07"
      "complex\x93G\x3f\xf0\x00\x00\x00\x00\x00\x00G\x40\x00\x00\x00\x00\x00\x00\x00\x86\x81"
      "\x8c\x08"
      "builtins\x8c\x03int\x93\x8c\x02"
      "10\x85}\x8c\x04"
      "baseK\x02s\x92"
      "r\xe8\x03\x00\x00"
      "j\xe8\x03\x00\x00"
      "\x8b\x02\x00\x00\x00\x00\x80"
      "\x96\x03\x00\x00\x00\x00\x00\x00\x00"
      "abc"
      "e.");
  const ValuePtr v = ssn::pickle::load(p5).value;
  SSN_CHECK(v->kind == Kind::List && v->items.size() == 5);
  const ValuePtr& c = v->items[0];
  SSN_CHECK(c->is_call_of("builtins", "complex"));
  SSN_CHECK(c->args->items.size() == 2 && c->args->items[1]->real == 2.0);
  const ValuePtr& i = v->items[1];
  SSN_CHECK(i->is_call_of("builtins", "int") && i->args->items[0]->text == "10");
  SSN_CHECK(i->kwargs && i->kwargs->find("base") && (*i->kwargs->find("base"))->integer == 2);
  SSN_CHECK(v->items[2] == i);
  SSN_CHECK(v->items[3]->kind == Kind::Int && v->items[3]->integer == -32768);
  SSN_CHECK(v->items[4]->kind == Kind::Bytes && v->items[4]->text == "abc");

  // (Foo() via INST, Bar(1) via OBJ)  -- protocol 1
  const ValuePtr t = ssn::pickle::load(PICKLE("((i__main__\nFoo\n(c__main__\nBar\nK\x01ot.")).value;
  SSN_CHECK(t->kind == Kind::Tuple && t->items.size() == 2);
  SSN_CHECK(t->items[0]->is_call_of("__main__", "Foo") && t->items[0]->args->items.empty());
  SSN_CHECK(t->items[1]->is_call_of("__main__", "Bar") && t->items[1]->args->items[0]->integer == 1);
}

// A list appended to itself through the memo is a cycle that shared pointers would never free (found by
// test/fuzz/fuzz_pickle as a leak): a cyclic result is refused, and a cycle popped off the stack is cut, leaving
// the real result whole.
SSN_TEST(io_pickle_cycles_are_refused_or_cut) {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: [l] where l is the list itself.
  SSN_CHECK_THROWS_CODE(ssn::pickle::load(PICKLE("\x80\x02]q\x00h\x00"
                                                 "a.")),
                        ssn::ErrorCode::Checkpoint);
  // The same cycle built and popped, then a dict {'k': [1, [1]]} sharing one list twice: fine.
  const auto r =
      ssn::pickle::load(PICKLE("\x80\x02]q\x00h\x00"
                               "a0}X\x01\x00\x00\x00k]q\x01K\x01"
                               "ah\x01\x86s."));
  SSN_CHECK(r.value->is(ssn::pickle::Value::Kind::Dict));
  const auto* k = r.value->find("k");
  SSN_CHECK(k != nullptr && (*k)->is(ssn::pickle::Value::Kind::Tuple) && (*k)->items.size() == 2);
  SSN_CHECK((*k)->items[0].get() == (*k)->items[1].get());  // the shared list survived the cut
  SSN_CHECK((*k)->items[0]->items.size() == 1 && (*k)->items[0]->items[0]->integer == 1);
}

// ssn::Json: parsing (nlohmann-json underneath), escapes, exact integers, round-trip of doubles, errors with offsets.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "io/json.h"
#include "test_framework.h"

using ssn::Json;

namespace {

std::string parse_error(const std::string& text) {
  try {
    Json::parse(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

SSN_TEST(io_json_parse_nested_document) {
  const Json j = Json::parse(" {\"a\": [1, -2.5e3, true, false, null, {\"b\": \"c\"}], \"d\": {}, \"e\": []} ");
  SSN_CHECK(j.is_object() && j.size() == 3);
  const auto& a = j.at("a").as_array();
  SSN_CHECK(a.size() == 6);
  SSN_CHECK(a[0].as_int() == 1);
  SSN_CHECK(a[1].as_number() == -2500.0);
  SSN_CHECK(a[2].as_bool() && !a[3].as_bool() && a[4].is_null());
  SSN_CHECK(a[5].at("b").as_string() == "c");
  SSN_CHECK(j.at("d").is_object() && j.at("d").size() == 0);
  SSN_CHECK(j.at("e").is_array() && j.at("e").size() == 0);
  SSN_CHECK(j.items()[1].first == "d");  // insertion order kept
  SSN_CHECK(!j.contains("zz"));
}

SSN_TEST(io_json_string_escapes_and_surrogates) {
  const Json j = Json::parse(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "\u0000x"])");
  const auto& a = j.as_array();
  SSN_CHECK(a[0].as_string() == "\"\\/\b\f\n\r\t");
  SSN_CHECK(a[1].as_string() == "\xc3\xa9\xe2\x82\xac");
  SSN_CHECK(a[2].as_string() == "\xf0\x9f\x98\x80");  // U+1F600 from a surrogate pair
  SSN_CHECK(a[3].as_string() == std::string("\0x", 2));
  // Dump escapes what JSON requires and keeps UTF-8 as is; parsing the dump gives the same strings.
  const std::string dumped = j.dump();
  SSN_CHECK(dumped == "[\"\\\"\\\\/\\b\\f\\n\\r\\t\",\"\xc3\xa9\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"\\u0000x\"]");
  SSN_CHECK(Json::parse(dumped).dump() == dumped);
  SSN_CHECK(Json(std::string("\x01")).dump() == "\"\\u0001\"");
}

SSN_TEST(io_json_numbers_exact_and_round_trip) {
  const Json big = Json::parse("[9223372036854775807, -9223372036854775808, 9007199254740993, 18446744073709551616]");
  const auto& a = big.as_array();
  SSN_CHECK(a[0].as_int() == std::numeric_limits<int64_t>::max());
  SSN_CHECK(a[1].as_int() == std::numeric_limits<int64_t>::min());
  SSN_CHECK(a[2].as_int() == 9007199254740993LL);  // 2^53 + 1: not representable as a double
  SSN_CHECK(a[3].as_number() == 18446744073709551616.0);
  // Integers beyond int64 are doubles: shortest round-trip form.
  SSN_CHECK(big.dump() == "[9223372036854775807,-9223372036854775808,9007199254740993,1.8446744073709552e+19]");

  SSN_CHECK(Json(3.0).dump() == "3");
  SSN_CHECK(Json(-0.5).dump() == "-0.5");
  SSN_CHECK(Json(0.1).dump() == "0.1");
  SSN_CHECK(Json(int64_t(-42)).dump() == "-42");
  for (double d : {0.1, 1.0 / 3.0, 1e-300, 6.02214076e23, -123.456, 2.5e-7}) {
    const Json back = Json::parse(Json(d).dump());
    SSN_CHECK_MSG(back.as_number() == d, Json(d).dump());
  }
  SSN_CHECK(Json(std::nan("")).dump() == "null");  // as JSON.stringify does
  SSN_CHECK(Json::parse("1e2").as_int() == 100);
  bool not_integral = false;
  try {
    Json::parse("1.5").as_int();
  } catch (const std::runtime_error&) {
    not_integral = true;
  }
  SSN_CHECK(not_integral);
}

SSN_TEST(io_json_build_and_dump) {
  Json j;
  j["name"] = Json("x\"y");
  j["n"] = Json(7);
  j["list"].push_back(Json(true));
  j["list"].push_back(Json());
  j["name"] = Json("z");  // replaces, keeps the position
  SSN_CHECK(j.dump() == "{\"name\":\"z\",\"n\":7,\"list\":[true,null]}");
  SSN_CHECK(Json::parse(j.dump()).at("n").as_int() == 7);
  SSN_CHECK(Json::parse("{\"k\":1,\"k\":2}").at("k").as_int() == 2);  // last duplicate wins
}

SSN_TEST(io_json_errors_name_the_offset) {
  const std::string missing_colon = parse_error("{\"a\" 1}");
  SSN_CHECK_MSG(missing_colon.rfind("JSON: ", 0) == 0, missing_colon);
  SSN_CHECK_MSG(missing_colon.find("expected ':' at offset 5") != std::string::npos, missing_colon);
  SSN_CHECK(parse_error("[1,]").find("at offset 3") != std::string::npos);
  SSN_CHECK(parse_error("\"abc").find("missing closing quote") != std::string::npos);
  SSN_CHECK(parse_error("\"\\ud800\"").find("surrogate") != std::string::npos);
  SSN_CHECK(parse_error("01").find("expected end of input at offset 1") != std::string::npos);
  SSN_CHECK(parse_error("[1] x").find("at offset 4") != std::string::npos);
  SSN_CHECK(parse_error("\"a\nb\"").find("control character") != std::string::npos);
  SSN_CHECK(parse_error("").find("unexpected end") != std::string::npos);
  SSN_CHECK(parse_error("tru").find("invalid literal") != std::string::npos);
  SSN_CHECK(parse_error(std::string(100000, '[')).find("nesting deeper") != std::string::npos);
  SSN_CHECK(parse_error("1e999").find("number overflow") != std::string::npos);
  // Accessors on the wrong type.
  bool threw = false;
  try {
    Json::parse("[1]").at("a");
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "JSON: expected object";
  }
  SSN_CHECK(threw);
}

// Tests of the typed events (enmap/decode/visitor.hpp, decode_value_visit): a type recorder sees
// the JavaScript type of every value, which the canonical JSON written alongside loses.

#include <doctest/doctest.h>

#include <string>

#include "enmap/decode/visitor.hpp"
#include "tests/enmap/decode_support.hpp"

using enmap::Encoding;
using enmap::NumberKind;

namespace {

/// Records each event as one token, space-separated: the value's type and its text.
class TypeRecorder : public enmap::ValueVisitor {
public:
    std::string trace;

    void begin_object() override { add("{"); }
    void key(std::string_view k) override { add("key:" + std::string(k)); }
    void end_object() override { add("}"); }
    void begin_array() override { add("["); }
    void end_array() override { add("]"); }
    void hole() override { add("hole"); }
    void string(std::string_view s) override { add("string:" + std::string(s)); }
    void number(NumberKind kind, std::string_view text, bool negative_zero) override {
        static const char* const k_names[] = {"int", "float", "nan", "inf", "-inf"};
        add(std::string(k_names[static_cast<int>(kind)]) + ":" + std::string(text) +
            (negative_zero ? "(-0)" : ""));
    }
    void boolean(bool b) override { add(b ? "true" : "false"); }
    void null() override { add("null"); }
    void date(std::string_view iso) override {
        add(iso.empty() ? "date:invalid" : "date:" + std::string(iso));
    }
    void bigint(std::string_view digits) override { add("bigint:" + std::string(digits)); }
    void begin_map() override { add("map{"); }
    void end_map() override { add("}map"); }
    void begin_set() override { add("set["); }
    void end_set() override { add("]set"); }
    void regexp(std::string_view source, std::string_view flags) override {
        add("regexp:" + std::string(source) + "/" + std::string(flags));
    }
    void url(std::string_view href) override { add("url:" + std::string(href)); }
    void function(std::string_view source) override { add("function:" + std::string(source)); }
    void undefined() override { add("undefined"); }

private:
    void add(const std::string& token) {
        if (!trace.empty()) {
            trace += ' ';
        }
        trace += token;
    }
};

struct Visited {
    std::string trace;
    std::string json;
    enmap::LossyCounts counts;
};

Visited visit(std::string_view text, Encoding encoding,
              enmap::FunctionPolicy functions = enmap::FunctionPolicy::k_drop) {
    TypeRecorder recorder;
    Visited v;
    std::vector<enmap::Violation> violations;
    enmap::decode_value_visit(text, encoding,
                              decode_test::policies(enmap::InvalidTextPolicy::k_replace, functions), recorder,
                              v.json, violations, v.counts);
    v.trace = recorder.trace;
    return v;
}

}  // namespace

TEST_CASE("decode visitor json: objects, arrays and scalars, integers apart from other numbers") {
    const auto v = visit(R"({"a":[1,-0,2.5,1e21,1e-7,"x\n",true,false,null],"b":{}})", Encoding::k_json);
    CHECK(
        v.trace ==
        "{ key:a [ int:1 int:0(-0) float:2.5 int:1e+21 float:1e-7 string:x\\n true false null ] key:b { } }");
    CHECK(v.json == R"({"a":[1,0,2.5,1e+21,1e-7,"x\n",true,false,null],"b":{}})");
    // JSON has no Date: a date string is a string.
    CHECK(visit(R"("2024-02-29T23:59:59.999Z")", Encoding::k_json).trace ==
          "string:2024-02-29T23:59:59.999Z");
    CHECK(visit("1e400", Encoding::k_json).trace == "inf:");
    CHECK(visit("-1e400", Encoding::k_json).trace == "-inf:");
}

TEST_CASE("decode visitor serialize-javascript: Date, BigInt, Map, Set, RegExp, URL, undefined, hole") {
    const auto v = visit(
        R"({"d":new Date("2024-02-29T23:59:59.999Z"),"bad":new Date("Invalid Date"),"n":BigInt("0012"),)"
        R"("m":new Map([["k",1],[{"o":1},2]]),"s":new Set(["x"]),"r":new RegExp("a+","g"),)"
        R"("u":new URL("https:\u002F\u002Fexample.com\u002F"),"x":undefined,)"
        R"("h":Array.prototype.slice.call({"1":"b","length":3}),"i":[NaN,Infinity,-Infinity],"f":(a)=>a})",
        Encoding::k_serialize_javascript);
    CHECK(v.trace ==
          "{ key:d date:2024-02-29T23:59:59.999Z key:bad date:invalid key:n bigint:12"
          " key:m map{ string:k int:1 { key:o int:1 } int:2 }map key:s set[ string:x ]set key:r regexp:a+/g"
          " key:u url:https://example.com/ key:x undefined key:h [ string:b hole hole ] key:i [ nan: inf: "
          "-inf: ]"
          " key:f function:(a)=>a }");
    // The canonical JSON written alongside is decode_value's.
    CHECK(
        v.json ==
        decode_test::canon(
            R"({"d":new Date("2024-02-29T23:59:59.999Z"),"bad":new Date("Invalid Date"),"n":BigInt("0012"),)"
            R"("m":new Map([["k",1],[{"o":1},2]]),"s":new Set(["x"]),"r":new RegExp("a+","g"),)"
            R"("u":new URL("https:\u002F\u002Fexample.com\u002F"),"x":undefined,)"
            R"("h":Array.prototype.slice.call({"1":"b","length":3}),"i":[NaN,Infinity,-Infinity],"f":(a)=>a})",
            Encoding::k_serialize_javascript));
    CHECK(v.counts.sparse_holes == 2);
    CHECK(v.counts.functions_dropped == 1);
    // A function is seen whatever the policy does with it.
    CHECK(visit("[x=>x]", Encoding::k_serialize_javascript, enmap::FunctionPolicy::k_source).trace ==
          "[ function:x=>x ]");
}

TEST_CASE("decode visitor better-serialize: every tag is seen with its type") {
    const auto v = visit(
        R"({"t":0,"v":{"d":{"t":6,"v":"2024-02-29T23:59:59.999Z"},"bad":{"t":6,"v":null},)"
        R"("n":{"t":8,"v":"618325095000000000"},"m":{"t":10,"v":[["k",{"t":2,"v":1}],[{"o":1},{"t":7}]]},)"
        R"("s":{"t":11,"v":[{"t":1,"v":"x"}]},"r":{"t":9,"v":{"s":"a+","f":"g"}},"x":{"t":7},"z":{"t":5},)"
        R"("i":{"t":4,"v":[{"t":2,"v":"NaN"},{"t":2,"v":"-Infinity"},{"t":2,"v":0.5},{"t":3,"v":true}]}}})",
        Encoding::k_better_serialize);
    CHECK(
        v.trace ==
        "{ key:d date:2024-02-29T23:59:59.999Z key:bad date:invalid key:n bigint:618325095000000000"
        " key:m map{ string:k int:1 { key:o int:1 } undefined }map key:s set[ string:x ]set key:r regexp:a+/g"
        " key:x undefined key:z null key:i [ nan: -inf: float:0.5 true ] }");
    CHECK(
        v.json ==
        R"({"d":"2024-02-29T23:59:59.999Z","bad":null,"n":"618325095000000000","m":[["k",1],[{"o":1},null]],)"
        R"("s":["x"],"r":"/a+/g","z":null,"i":[null,null,0.5,true]})");
}

TEST_CASE("decode visitor: malformed text throws before any event, deep values are seen once") {
    TypeRecorder recorder;
    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    CHECK_THROWS_AS(
        enmap::decode_value_visit("[1,2,", Encoding::k_json, {}, recorder, out, violations, counts),
        enmap::DecodeError);
    CHECK(recorder.trace.empty());
    CHECK(out.empty());
    // Deep enough to need the decoder's big stack: the events still come once.
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    enmap::decode_value_visit(deep, Encoding::k_json, {}, recorder, out, violations, counts);
    CHECK(out == deep);
    CHECK(recorder.trace.size() == 10000 * 2 - 1);
}

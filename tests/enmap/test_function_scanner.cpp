// Unit tests of the function scanner (enmap/decode/function_scanner.cpp) on its own: where a
// JavaScript function's source ends, whatever follows it, and the errors it reports.

#include <doctest/doctest.h>

#include <string>

#include "enmap/decode.hpp"
#include "enmap/decode/function_scanner.hpp"

using enmap::DecodeError;
using enmap::decode::function_source_length;

namespace {

/// The source the scanner finds at the start of `text`.
std::string scanned(const std::string& text) {
    return text.substr(0, function_source_length(text));
}

}  // namespace

TEST_CASE("function scanner: each form of function source ends where its body does") {
    const char* sources[] = {
        "function (a) { return a + 1; }",
        "function name(){}",
        "async function f(a) { return await a; }",
        "function* gen() { yield \"}\"; }",
        "async *items() { yield 1; }",
        "foo(a) { return function () { return '}'; }; }",
        "x => { return x; }",
        "async (a) => { return a; }",
        "class A extends B { constructor(x) { super(x); } }",
        "class extends Base.Inner { m() { return `}`; } }",
    };
    for (const char* source : sources) {
        CAPTURE(source);
        // Whatever follows the source in the value is not part of it.
        CHECK(scanned(std::string(source) + ",\"next\":1}") == source);
        CHECK(scanned(std::string(source) + "]") == source);
        CHECK(scanned(source) == source);
    }
}

TEST_CASE("function scanner: an arrow function's expression body stops at the enclosing separator") {
    CHECK(scanned("(x)=>x*2,1]") == "(x)=>x*2");
    CHECK(scanned("x => x + 1 }") == "x => x + 1");
    CHECK(scanned("async a => a)") == "async a => a");
    CHECK(scanned("a => f(a, [1, 2], {k: 3}), 4") == "a => f(a, [1, 2], {k: 3})");
    CHECK(scanned("(a, b = {k: [1, ')']}) => ({ s: a /* } */ })]") ==
          "(a, b = {k: [1, ')']}) => ({ s: a /* } */ })");
    CHECK(scanned("s => `t${s}${ {a: '}'}.a }`,") == "s => `t${s}${ {a: '}'}.a }`");
    // A '/' after an operand divides; after an operator it starts a regular expression literal.
    CHECK(scanned("x => x / 2 / 1, 0") == "x => x / 2 / 1");
    CHECK(scanned("x => x.replace(/[\"},\\]]/g, ''), 0") == "x => x.replace(/[\"},\\]]/g, '')");
    CHECK(scanned("x => typeof /,/ , 0") == "x => typeof /,/");
    // Comments hide brackets and separators.
    CHECK(scanned("function (x) {\n  // }\n  return x;\n}, 1") == "function (x) {\n  // }\n  return x;\n}");
}

TEST_CASE("function scanner: malformed source is a DecodeError at the offset it starts or stops") {
    const char* bad[] = {
        "function (a) { return a;",  // unterminated body
        "x => ",                     // no arrow body
        "foo",                       // a word, no function
        "(a) { }",                   // parameters without a name or an arrow
        "x => (]",                   // mismatched brackets
        "x => 'abc",                 // unterminated string
        "x => `abc",                 // unterminated template literal
        "x => /abc",                 // unterminated regular expression
        "function () { /* }",        // unterminated comment
        "a b c d e => 1",            // too many words before a function
    };
    for (const char* text : bad) {
        CAPTURE(text);
        CHECK_THROWS_AS(function_source_length(text), DecodeError);
    }
    try {
        function_source_length("x => (]");
        FAIL("no error");
    } catch (const DecodeError& e) {
        CHECK(e.offset() == 6);
        CHECK(std::string(e.what()).find("mismatched bracket") != std::string::npos);
    }
}

TEST_CASE("function scanner: brackets nest no deeper than the limit") {
    std::string deep = "x => " + std::string(50, '[') + std::string(50, ']');
    CHECK(function_source_length(deep, 100) == deep.size());
    CHECK_THROWS_AS(function_source_length(deep, 10), DecodeError);
}

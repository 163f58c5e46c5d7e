// Log lines are logfmt whatever their values hold: the formatter escapes
// each string where it lands, the parser reads back the same bytes.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/log_format.hpp"
#include "common/logfmt.hpp"

using namespace tlsward;

namespace {

std::vector<logfmt::Field> parsed(const std::string& line) {
    std::vector<logfmt::Field> f;
    INFO(line);
    REQUIRE(logfmt::parse(line, f));
    return f;
}

std::string field(const std::string& line, const std::string& key) {
    for (const auto& f : parsed(line))
        if (f.key == key) return f.value;
    FAIL("no " << key << " in " << line);
    return {};
}

// Hostile values: what a client certificate, an SNI, a file name or an
// error message quoting one of them may hold.
const std::vector<std::string>& hostile() {
    static const std::vector<std::string> v = {
        "",
        "plain",
        "two words",
        "service \"server\": target: target \"nosuchhost.invalid:80\": cannot resolve",
        "got \"one\"\" action=forged",
        "back\\slash\\",
        "\\\"",
        "line\nevent=forged peer_cn=\"admin\"",
        "cr\rtab\tbell\x07"
        "del\x7f",
        "k=v",
        "\"",
        "not utf-8: \xff\xfe \xc3\x28 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf",
        "utf-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92",
        "c1 \xc2\x9b[31m bidi \xe2\x80\xae"
        "evil \xe2\x80\xa8sep",
        "trailing space ",
        " ",
        "=",
        "%s %d %n",
    };
    return v;
}

}  // namespace

TEST_CASE("log lines: strings in quoted values are escaped and read back", "[log]") {
    for (const std::string& v : hostile()) {
        std::string line = log_format("event=x conn=%d reason=\"%s\" detail=\"before %s after\"", 7,
                                      v.c_str(), v.c_str());
        INFO(line);
        auto f = parsed(line);
        REQUIRE(f.size() == 4);
        CHECK(f[0].key == "event");
        CHECK(f[0].value == "x");
        CHECK(f[1].value == "7");
        CHECK(f[2].key == "reason");
        CHECK(f[2].value == v);
        CHECK(f[3].value == "before " + v + " after");
        CHECK(line.find('\n') == std::string::npos);
    }
}

TEST_CASE("log lines: bare values are quoted when they must be", "[log]") {
    for (const std::string& v : hostile()) {
        std::string line =
            log_format("event=x service=%s from=systemd:%s n=%zu", v.c_str(), v.c_str(), v.size());
        INFO(line);
        auto f = parsed(line);
        REQUIRE(f.size() == 4);
        CHECK(f[1].value == v);
        CHECK(f[2].value == "systemd:" + v);
        CHECK(f[3].value == std::to_string(v.size()));
    }
    CHECK(log_format("event=x service=%s peer=%s", "web", "[::1]:443") ==
          "event=x service=web peer=[::1]:443");
    CHECK(log_format("event=x service=%s", "") == "event=x service=\"\"");
    CHECK(log_format("event=x service=%s", "a b") == "event=x service=\"a b\"");
    CHECK(log_format("event=x type=%s(%u)", "hs_done", 3u) == "event=x type=hs_done(3)");
}

TEST_CASE("log lines: the escapes", "[log]") {
    CHECK(log_format("event=x reason=\"%s\"", "a \"b\" \\c\n\r\t\x01\x7f") ==
          "event=x reason=\"a \\\"b\\\" \\\\c\\n\\r\\t\\x01\\x7f\"");
    // Bytes that are not UTF-8 each become \xNN; UTF-8 stays as it is
    // but for controls that change what a reader sees.
    CHECK(log_format("event=x cn=\"%s\"", "\xff\xc3\xa9\xc2\x9b") ==
          "event=x cn=\"\\xff\xc3\xa9\\xc2\\x9b\"");
    CHECK(log_format("event=x cn=%s", "caf\xc3\xa9") == "event=x cn=\"caf\xc3\xa9\"");
}

TEST_CASE("log lines: numbers and the other conversions are printf's", "[log]") {
    CHECK(log_format("event=x a=%d b=%u c=%llu d=%zu e=%5.2f f=%x g=%%", -3, 4u, 5ull, size_t{6},
                     1.5, 255u) == "event=x a=-3 b=4 c=5 d=6 e=\" 1.50\" f=ff g=%");
    CHECK(log_format("event=x mode=%.*s w=%*d", 3, "abcdef", 4, 7) ==
          "event=x mode=abc w=\"   7\"");
    CHECK(log_format("event=x p=%c", 'q') == "event=x p=q");
    std::string longer(1000, 'y');
    CHECK(log_format("event=x v=%s", longer.c_str()) == "event=x v=" + longer);
}

TEST_CASE("log lines: a fragment of pairs made by the program is kept", "[log]") {
    std::string tail = " suppressed=" + std::to_string(40);
    CHECK(log_format("event=close reason=\"%s\"%s", "x", tail.c_str()) ==
          "event=close reason=\"x\" suppressed=40");
    std::string who = "uid=1 gid=2 name=" + logfmt::value("a b");
    CHECK(field(log_format("event=sandboxed %s n=1", who.c_str()), "name") == "a b");
    // Controls in a fragment are escaped all the same: one line, UTF-8.
    std::string bad = log_format("%s", "a\nb\xff");
    CHECK(bad == "a\\nb\\xff");
}

TEST_CASE("log lines: a format that breaks the grammar is wrapped, not lost", "[log]") {
    std::string m = log_message("%s", "path: certificate \"x\" expired");
    CHECK(field(m, "event") == "log_line_malformed");
    CHECK(field(m, "text") == "path: certificate \"x\" expired");
    CHECK(log_message("event=x reason=\"%s\"", "a\"b") == "event=x reason=\"a\\\"b\"");
    CHECK(field(log_message("event=x  Key=1"), "text") == "event=x  Key=1");
}

TEST_CASE("logfmt: the parser is strict", "[log]") {
    std::vector<logfmt::Field> f;
    for (const char* bad :
         {"", " event=x", "event=x ", "event=x  a=1", "Event=x", "_a=1", "event", "event=\"x",
          "event=\"x\"y", "event=a\"b", "event=a=b", "event=\"\\q\"", "event=\"\\x4\"",
          "event=\"a\nb\"", "event=\"\xff\"", "event=\"\xc0\xaf\"", "event=a\\b", "event=x free"}) {
        f.clear();
        INFO(bad);
        CHECK_FALSE(logfmt::parse(bad, f));
    }
    f.clear();
    REQUIRE(logfmt::parse("event=x a= b=\"\" c=\"\\x41\\x4a\\\\\\\"\\n\" d9_=1", f));
    REQUIRE(f.size() == 5);
    CHECK(f[1].value.empty());
    CHECK(f[2].value.empty());
    CHECK(f[3].value == "AJ\\\"\n");
    CHECK(f[4].key == "d9_");
}

TEST_CASE("logfmt: the lenient parser skips what is not a pair", "[log]") {
    auto f = logfmt::parse_lenient("free event=x Upper=1 text \"quoted word\" a=\"b c\" _h=2 d=e");
    REQUIRE(f.size() == 3);
    CHECK(f[0].key == "event");
    CHECK(f[1].key == "a");
    CHECK(f[1].value == "b c");
    CHECK(f[2].key == "d");
}
